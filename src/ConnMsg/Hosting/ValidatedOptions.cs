using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ConnMsg.Hosting;

/// <summary>Options bound from a configuration section, then configured in code, then validated when the host starts.</summary>
internal static class ValidatedOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/>, runs <paramref name="afterBinding"/> on them
    /// with the whole configuration and that section's path (for what the binder cannot do alone: it adds a configured
    /// list's items to the default list instead of replacing it, and cannot tell an empty list from none), then
    /// <paramref name="configure"/>, and validates them with <paramref name="validate"/> when the host starts.
    /// </summary>
    public static OptionsBuilder<TOptions> Add<TOptions>(IServiceCollection services, string section, Action<TOptions>? configure, Action<TOptions> validate,
        Action<TOptions, IConfiguration, string>? afterBinding = null)
        where TOptions : class
    {
        OptionsBuilder<TOptions> options = services.AddOptions<TOptions>().BindConfiguration(section);
        if (afterBinding is not null)
        {
            options.Configure<IConfiguration>((o, configuration) => afterBinding(o, configuration, section));
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

    /// <summary>
    /// The list of strings at <paramref name="key"/> as the last configuration source that sets it has it, so that a
    /// later source replaces an earlier one's list instead of being merged into it index by index: that source's items
    /// in index order; one item when it sets the key to a single value; empty when it sets the key to nothing (JSON
    /// <c>[]</c> or <c>null</c>, an empty environment variable). Null when no source sets it.
    /// </summary>
    public static List<string>? LastSetList(IConfiguration configuration, string key)
    {
        if (configuration is not IConfigurationRoot root)
        {
            // Without the sources only the merged view is known: its items, or nothing for an empty value.
            IConfigurationSection merged = configuration.GetSection(key);
            return merged.GetChildren().Any() ? merged.Get<List<string>>() ?? [] : merged.Value is { } single ? Items(single) : null;
        }

        IConfigurationProvider[] providers = root.Providers.ToArray();
        for (int i = providers.Length - 1; i >= 0; i--)
        {
            IConfigurationProvider provider = providers[i];
            string[] children = provider.GetChildKeys([], key).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
            if (children.Length > 0)
            {
                Array.Sort(children, ConfigurationKeyComparer.Instance);
                var items = new List<string>(children.Length);
                foreach (string child in children)
                {
                    if (provider.TryGet(ConfigurationPath.Combine(key, child), out string? item) && item is not null)
                    {
                        items.Add(item);
                    }
                }

                return items;
            }

            if (provider.TryGet(key, out string? value))
            {
                return Items(value);
            }
        }

        return null;

        static List<string> Items(string? value) => string.IsNullOrEmpty(value) ? [] : [value];
    }
}
