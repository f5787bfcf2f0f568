using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ConnMsg.Hosting;

/// <summary>Options bound from a configuration section, then configured in code, then validated when the host starts.</summary>
internal static class ValidatedOptions
{
    public static OptionsBuilder<TOptions> Add<TOptions>(IServiceCollection services, string section, Action<TOptions>? configure, Action<TOptions> validate)
        where TOptions : class
    {
        OptionsBuilder<TOptions> options = services.AddOptions<TOptions>().BindConfiguration(section);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // The validator throws with a message naming the option; a bad value stops the host before it listens.
        return options.Validate(o =>
        {
            validate(o);
            return true;
        }).ValidateOnStart();
    }
}
