using System.Collections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace ConnMsg.Transport;

// The connection is its own feature collection, as Kestrel's transports are: the features it implements are answered
// by type test, and what Kestrel and connection middleware set lives in a small array rather than a dictionary per
// connection. Kestrel sets four (heartbeat, completion, closing notification, metrics context): the array starts with
// room for exactly those, and a middleware that sets more grows it.
internal sealed partial class SocketConnection : IFeatureCollection
{
    private KeyValuePair<Type, object>[]? _features;
    private int _featureCount;
    private int _revision;

    bool IFeatureCollection.IsReadOnly => false;

    int IFeatureCollection.Revision => _revision;

    object? IFeatureCollection.this[Type key]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(key);
            for (int i = 0; i < _featureCount; i++)
            {
                if (_features![i].Key == key)
                {
                    return _features[i].Value;
                }
            }

            return IsOwnFeature(key) ? this : null;
        }

        set
        {
            ArgumentNullException.ThrowIfNull(key);
            _revision++;
            for (int i = 0; i < _featureCount; i++)
            {
                if (_features![i].Key == key)
                {
                    if (value is null)
                    {
                        _featureCount--;
                        _features[i] = _features[_featureCount];
                        _features[_featureCount] = default;
                    }
                    else
                    {
                        _features[i] = new KeyValuePair<Type, object>(key, value);
                    }

                    return;
                }
            }

            if (value is null)
            {
                return;
            }

            _features ??= new KeyValuePair<Type, object>[4];
            if (_featureCount == _features.Length)
            {
                Array.Resize(ref _features, _features.Length * 2);
            }

            _features[_featureCount++] = new KeyValuePair<Type, object>(key, value);
        }
    }

    TFeature? IFeatureCollection.Get<TFeature>() where TFeature : default => (TFeature?)((IFeatureCollection)this)[typeof(TFeature)];

    void IFeatureCollection.Set<TFeature>(TFeature? instance) where TFeature : default => ((IFeatureCollection)this)[typeof(TFeature)] = instance;

    IEnumerator<KeyValuePair<Type, object>> IEnumerable<KeyValuePair<Type, object>>.GetEnumerator()
    {
        foreach (Type own in OwnFeatures)
        {
            if (!IsSet(own))
            {
                yield return new KeyValuePair<Type, object>(own, this);
            }
        }

        for (int i = 0; i < _featureCount; i++)
        {
            yield return _features![i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<KeyValuePair<Type, object>>)this).GetEnumerator();

    private static readonly Type[] OwnFeatures =
    [
        typeof(IConnectionIdFeature), typeof(IConnectionTransportFeature), typeof(IConnectionItemsFeature),
        typeof(IConnectionEndPointFeature), typeof(IConnectionLifetimeFeature), typeof(IConnectionSocketFeature),
    ];

    private static bool IsOwnFeature(Type key) => Array.IndexOf(OwnFeatures, key) >= 0;

    private bool IsSet(Type key)
    {
        for (int i = 0; i < _featureCount; i++)
        {
            if (_features![i].Key == key)
            {
                return true;
            }
        }

        return false;
    }
}
