using System.Runtime.InteropServices;

namespace Pipeline.Grib2.Data;

/// <summary>Loads the native codec libraries (libaec, libopenjp2) with an error that names the Debian package.</summary>
internal static class NativeCodecs
{
    public static nint Load(string soname, string debianPackage, string purpose, params string[] alternatives)
    {
        foreach (var name in (string[])[soname, .. alternatives])
            if (NativeLibrary.TryLoad(name, out var handle)) return handle;
        throw new DllNotFoundException(
            $"{soname} is needed to decode {purpose} but could not be loaded: install the Debian package {debianPackage} " +
            $"(apt-get install {debianPackage})");
    }
}
