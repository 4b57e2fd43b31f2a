namespace CovidServerless.Core.Ingestion;

/// <summary>One version of one uploaded scan, as read from blob storage.</summary>
public sealed record ScanUpload(Results.ScanIdentity Identity, ReadOnlyMemory<byte> Content);
