namespace Pipeline.Grib2;

/// <summary>Section 1 (identification) of a GRIB2 message.</summary>
public sealed record Identification(
    int Centre,
    int SubCentre,
    int MasterTablesVersion,
    int LocalTablesVersion,
    int SignificanceOfReferenceTime,
    DateTime ReferenceTime,
    int ProductionStatus,
    int TypeOfData)
{
    internal static Identification Parse(ReadOnlySpan<byte> s, long offset)
    {
        // s is the whole section including its 5-byte header; 21 octets is the minimum the template defines.
        if (s.Length < 21)
            throw new GribFormatException($"section 1 is {s.Length} bytes, the template needs at least 21", offset, 1);
        int year = Be.U16(s, 12), month = s[14], day = s[15], hour = s[16], minute = s[17], second = s[18];
        DateTime time;
        if (year is >= 1 and <= 9999 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month)
            && hour < 24 && minute < 60 && second < 60)
            time = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
        else
            throw new GribFormatException(
                $"reference time {year:D4}-{month:D2}-{day:D2} {hour:D2}:{minute:D2}:{second:D2} is not a valid date", offset, 1);
        return new Identification(Be.U16(s, 5), Be.U16(s, 7), s[9], s[10], s[11], time,
            s.Length > 19 ? s[19] : 255, s.Length > 20 ? s[20] : 255);
    }
}
