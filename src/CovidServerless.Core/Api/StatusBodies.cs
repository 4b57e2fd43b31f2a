namespace CovidServerless.Core.Api;

/// <summary>
/// The body of GET /api/health. <see cref="Worker"/> is set in Remote mode only; there, without the in-process
/// fall-back, the host loads no models (<see cref="ModelsLoaded"/> 0, no <see cref="Manifest"/>).
/// </summary>
public sealed record HealthReport(
    string Status, int ModelsLoaded, IReadOnlyList<string> Problems, string? Manifest, WorkerHealth? Worker = null)
{
    public const string Ready = "ready";
    public const string NotReady = "not-ready";
}

/// <summary>
/// The scoring worker as the host's latest scoring request found it (not asked for the health check): "answering",
/// "unavailable" (with the problem), or "unknown" when no scan was sent since the host started; and when.
/// </summary>
public sealed record WorkerHealth(string Endpoint, string Status, string? Problem = null, DateTimeOffset? SeenAt = null)
{
    public const string Answering = "answering";
    public const string Unavailable = "unavailable";
    public const string Unknown = "unknown";
}

/// <summary>
/// One loaded model. <see cref="Role"/> is <see cref="Member"/> (one of its modality's ensemble) or <see cref="Gate"/>
/// (the input gate, listed once per modality it checks, with <see cref="GateThreshold"/>: scans whose probability of
/// being that modality is below it are rejected). <see cref="Validation"/> holds the figures the manifest records for
/// it (free-form); <see cref="EnsembleThreshold"/> is its modality's decision threshold, which every member's verdict
/// uses; <see cref="EnsembleAbstain"/> its abstaining band (null for none), inside which the ensemble's verdict is
/// indeterminate; <see cref="EnsembleCalibrated"/> whether the vote is rescaled (Platt) before the threshold.
/// </summary>
public sealed record ModelDescription(
    string Name,
    string Modality,
    string? Architecture,
    string Version,
    string Sha256,
    Models.ModelInputSpec Input,
    Models.ModelOutputSpec Output,
    System.Text.Json.Nodes.JsonObject? Validation = null,
    double? EnsembleThreshold = null,
    Models.AbstainRule? EnsembleAbstain = null,
    bool EnsembleCalibrated = false,
    string Role = ModelDescription.Member,
    double? GateThreshold = null)
{
    public const string Member = "member";
    public const string Gate = "gate";
}
