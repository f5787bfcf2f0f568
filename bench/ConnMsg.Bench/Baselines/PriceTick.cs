namespace ConnMsg.Bench.Baselines;

/// <summary>A typical typed Ind payload: what an application hands to <c>IIndPublisher.PublishAsync&lt;T&gt;</c>.</summary>
public sealed record PriceTick(string Symbol, double Bid, double Ask);
