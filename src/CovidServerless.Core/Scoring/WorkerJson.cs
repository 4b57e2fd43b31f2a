using System.Text.Json;
using System.Text.Json.Serialization;

namespace CovidServerless.Core.Scoring;

/// <summary>The scoring worker's wire format: camelCase, modality as its lower-case name.</summary>
public static class WorkerJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter<Modality>(JsonNamingPolicy.CamelCase) },
    };
}
