using CovidServerless.Core.Imaging;

namespace CovidServerless.Core.Gate;

/// <summary>
/// What the input gate made of one scan, shown in the result for transparency. <see cref="Score"/> is the gate's
/// probability that the image is a scan of the declared modality; the scan passes when it is at least
/// <see cref="Threshold"/> and the image is not flat (<see cref="LumaStd"/>, the spread of its grey levels on 0..1,
/// at least the manifest's minimum).
/// </summary>
public sealed record GateResult(bool Passed, double Score, double Threshold, string LooksLike, double LumaStd, string Model, string Version);

/// <summary>The input gate rejected the scan: the message is the plain reason, <see cref="Gate"/> the figures behind it.</summary>
public sealed class GateRejectedException(string reason, GateResult gate) : ScanRejectedException(reason)
{
    public GateResult Gate { get; } = gate;
}
