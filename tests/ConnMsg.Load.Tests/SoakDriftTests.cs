using ConnMsg.Load.Reporting;
using ConnMsg.Load.Scenarios;

namespace ConnMsg.Load.Tests;

/// <summary>
/// <c>soak</c> reports the slope of the server's memory over the second half of the window: a heap that grew while it
/// settled and then stayed reads flat there, and one that keeps growing reads its rate.
/// </summary>
public class SoakDriftTests
{
    [Fact]
    public void Memory_that_grows_a_steady_amount_each_second_reads_that_rate_per_minute()
    {
        var points = Enumerable.Range(1, 120).Select(s => Point(s, 100 + (0.01 * s))).ToList();

        Assert.Equal(0.6, SoakScenario.RssSlopePerMinute(points), precision: 9);
    }

    [Fact]
    public void Memory_that_settled_before_the_second_half_reads_flat_there()
    {
        // 85 MiB rising to 102 over the first two minutes, then flat for thirteen: the soak run of stop 20.
        var points = Enumerable.Range(1, 900).Select(s => Point(s, s < 120 ? 85 + (17.0 * s / 120) : 102)).ToList();

        Assert.Equal(0, SoakScenario.RssSlopePerMinute(points.Skip(450).ToList()), precision: 9);
        Assert.True(SoakScenario.RssSlopePerMinute(points) > 0.3, "over the whole window the settling shows as growth");
    }

    [Fact]
    public void Seconds_without_a_memory_reading_are_left_out_and_fewer_than_two_readings_give_no_slope()
    {
        List<TimelinePoint> points = [Point(1, 10), Point(2, double.NaN), Point(3, 12)];

        Assert.Equal(60, SoakScenario.RssSlopePerMinute(points), precision: 9);
        Assert.True(double.IsNaN(SoakScenario.RssSlopePerMinute([Point(1, 10), Point(2, double.NaN)])));
    }

    private static TimelinePoint Point(int second, double rssMb) => new(second, 1000, 1, 2, 3, rssMb, 50, 50);
}
