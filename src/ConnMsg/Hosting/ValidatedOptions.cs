using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ConnMsg.Hosting;

/// <summary>Options bound from a configuration section, then configured in code, then validated when the host starts.</summary>
internal static class ValidatedOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/>, runs <paramref name="afterBinding"/> on them
    /// with that section (for what the binder cannot do alone: it adds a configured list's items to the default list
    /// instead of replacing it), then <paramref name="configure"/>, and validates them with <paramref name="validate"/>
    /// when the host starts.
    /// </summary>
    public static OptionsBuilder<TOptions> Add<TOptions>(IServiceCollection services, string section, Action<TOptions>? configure, Action<TOptions> validate,
        Action<TOptions, IConfigurationSection>? afterBinding = null)
        where TOptions : class
    {
        OptionsBuilder<TOptions> options = services.AddOptions<TOptions>().BindConfiguration(section);
        if (afterBinding is not null)
        {
            options.Configure<IConfiguration>((o, configuration) => afterBinding(o, configuration.GetSection(section)));
        }

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
