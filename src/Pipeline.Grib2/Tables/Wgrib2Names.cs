using System.Collections.Frozen;

namespace Pipeline.Grib2.Tables;

/// <summary>
/// The NCEP / wgrib2 parameter abbreviations (TMP, UGRD, APCP, ...) that .idx files use. WMO entries for
/// every centre; NCEP's local entries (category or number 192-254) for NCEP (centre 7) messages.
/// </summary>
public static partial class Wgrib2Names
{
    private static readonly Lazy<(FrozenDictionary<int, string> Wmo, FrozenDictionary<int, string> Ncep)> Index = new(() =>
    {
        var wmo = new Dictionary<int, string>();
        var ncep = new Dictionary<int, string>();
        foreach (var r in Rows)
            (r.NcepLocal ? ncep : wmo).TryAdd(Key(r.Discipline, r.Category, r.Number), r.Abbrev);
        return (wmo.ToFrozenDictionary(), ncep.ToFrozenDictionary());
    });

    private static int Key(int d, int c, int n) => (d << 16) | (c << 8) | n;

    /// <summary>The abbreviation, or wgrib2's <c>var{d}_{c}_{n}</c> form when no table has one.</summary>
    public static string Lookup(int centre, int discipline, int category, int number)
    {
        var key = Key(discipline & 0xFF, category & 0xFF, number & 0xFF);
        var local = category >= 192 || number >= 192;
        if (local && centre == 7 && Index.Value.Ncep.TryGetValue(key, out var n)) return n;
        if (!local && Index.Value.Wmo.TryGetValue(key, out var w)) return w;
        return $"var{discipline}_{category}_{number}";
    }
}
