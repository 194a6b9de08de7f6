/// The canonical payload: the exact bytes a vendor signs, readable as text.
///
/// One `key: value` line per field, LF line endings, fields in this fixed order, lists as repeated
/// keys already sorted and deduplicated, dates as `YYYY-MM-DDTHH:MM:SSZ`:
///
///     format: 1
///     id: 3f2a9c1d0e8b7a65
///     licensee: Acme Corp
///     issued: 2026-01-01T00:00:00Z
///     not-before: 2026-02-01T00:00:00Z      (only when set)
///     expires: 2027-01-01T00:00:00Z
///     max-cores: 64
///     host: aa:bb:cc:dd:ee:01                (one line per host, at least one)
///     server: aa:bb:cc:dd:ee:01              (one line per server, at least one)
///     feature: reports                       (one line per feature, possibly none)
///
/// Decoding is strict: after parsing, the license is encoded again and must give the same bytes,
/// so every license has exactly one payload and nothing unsigned can hide in the signed text.
public enum LicensePayload {
    public static func encode(_ license: License) -> [UInt8] {
        var text = ""
        func line(_ key: String, _ value: String) { text += "\(key): \(value)\n" }
        line("format", String(license.formatVersion))
        line("id", license.id)
        line("licensee", license.licensee)
        line("issued", license.issued.rfc3339)
        if let notBefore = license.notBefore { line("not-before", notBefore.rfc3339) }
        line("expires", license.expires.rfc3339)
        line("max-cores", String(license.maxCores))
        for host in license.hosts { line("host", host.description) }
        for server in license.servers { line("server", server.description) }
        for feature in license.features { line("feature", feature) }
        return Array(text.utf8)
    }

    /// Parses a payload block. Total: any input gives a license or a `LicenseError`, never a crash.
    public static func decode(_ payload: [UInt8]) throws(LicenseError) -> License {
        guard payload.count <= LicenseArmor.maximumFileSize else {
            throw .malformedPayload(line: 1, reason: "payload larger than \(LicenseArmor.maximumFileSize) bytes")
        }
        var fields = try splitFields(payload)
        var cursor = FieldCursor(fields: fields)

        let formatText = try cursor.take("format")
        guard formatText.utf8.count <= 9, let version = Int(formatText), String(version) == formatText else {
            throw .malformedPayload(line: cursor.lastLine, reason: "format '\(printable(formatText))' is not a version number")
        }
        guard version == License.currentFormatVersion else { throw .unsupportedFormat(version: version) }
        let id = try cursor.take("id")
        let licensee = try cursor.take("licensee")
        let issued = try cursor.date("issued")
        let notBefore = try cursor.optionalDate("not-before")
        let expires = try cursor.date("expires")
        let coresText = try cursor.take("max-cores")
        guard coresText.utf8.count <= 10, let maxCores = Int(coresText) else {
            throw .malformedPayload(line: cursor.lastLine, reason: "max-cores '\(printable(coresText))' is not a number")
        }
        let hosts = try cursor.macs("host")
        let servers = try cursor.macs("server")
        let features = cursor.takeAll("feature").map(\.value)
        if let extra = cursor.next {
            throw .malformedPayload(line: extra.line, reason: "unexpected field '\(printable(extra.key))' (fields must appear in the canonical order)")
        }

        let license: License
        do {
            license = try License(id: id, licensee: licensee, issued: issued, notBefore: notBefore, expires: expires,
                                  maxCores: maxCores, hosts: hosts, servers: servers, features: features, formatVersion: version)
        } catch {
            if case let .invalidField(field, _) = error {
                let line = fields.first(where: { $0.key == field })?.line ?? 1
                throw .malformedPayload(line: line, reason: error.description)
            }
            throw error
        }

        let canonical = encode(license)
        if canonical != payload {
            fields = (try? splitFields(canonical)) ?? []
            let original = (try? splitFields(payload)) ?? []
            let index = Array(zip(original, fields)).firstIndex(where: { $0.0 != $0.1 }) ?? min(original.count, fields.count)
            let expected = index < fields.count ? "'\(fields[index].key): \(printable(fields[index].value))'" : "the end of the payload"
            throw .malformedPayload(line: index + 1, reason: "not in canonical form (expected \(expected); lists must be sorted, unique and lowercase)")
        }
        return license
    }

    struct Field: Equatable {
        var key: String
        var value: String
        var line: Int
    }

    /// LF-terminated `key: value` lines of UTF-8 text without control characters.
    private static func splitFields(_ payload: [UInt8]) throws(LicenseError) -> [Field] {
        guard !payload.isEmpty else { throw .malformedPayload(line: 1, reason: "the payload is empty") }
        guard payload.last == UInt8(ascii: "\n") else {
            throw .malformedPayload(line: payload.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count,
                                    reason: "the last line does not end with a line feed")
        }
        var fields: [Field] = []
        for (index, rawLine) in payload.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if let control = rawLine.first(where: { $0 < 0x20 || $0 == 0x7f }) {
                let what = control == UInt8(ascii: "\r") ? "a carriage return (Windows line ending)" : "control character \(control)"
                throw .malformedPayload(line: number, reason: "contains \(what)")
            }
            guard let text = String(validating: rawLine, as: UTF8.self) else {
                throw .malformedPayload(line: number, reason: "is not valid UTF-8 text")
            }
            guard let separator = text.firstRange(of: ": ") else {
                throw .malformedPayload(line: number, reason: "'\(printable(text))' is not a 'key: value' line")
            }
            fields.append(Field(key: String(text[..<separator.lowerBound]), value: String(text[separator.upperBound...]), line: number))
        }
        return fields
    }
}

/// Walks the fields in their canonical order.
private struct FieldCursor {
    let fields: [LicensePayload.Field]
    var index = 0
    var lastLine = 0

    init(fields: [LicensePayload.Field]) { self.fields = fields }

    var next: LicensePayload.Field? { index < fields.count ? fields[index] : nil }

    mutating func take(_ key: String) throws(LicenseError) -> String {
        guard let field = next else {
            throw .malformedPayload(line: fields.count + 1, reason: "missing field '\(key)' (the payload ends early)")
        }
        guard field.key == key else {
            throw .malformedPayload(line: field.line, reason: "expected field '\(key)', found '\(printable(field.key))'")
        }
        index += 1
        lastLine = field.line
        return field.value
    }

    mutating func takeAll(_ key: String) -> [LicensePayload.Field] {
        var taken: [LicensePayload.Field] = []
        while let field = next, field.key == key {
            taken.append(field)
            index += 1
        }
        return taken
    }

    mutating func date(_ key: String) throws(LicenseError) -> LicenseDate {
        let text = try take(key)
        guard let date = LicenseDate(canonical: text) else {
            throw .malformedPayload(line: lastLine, reason: "\(key) '\(printable(text))' is not a date of the form YYYY-MM-DDTHH:MM:SSZ")
        }
        return date
    }

    mutating func optionalDate(_ key: String) throws(LicenseError) -> LicenseDate? {
        guard next?.key == key else { return nil }
        return try date(key)
    }

    mutating func macs(_ key: String) throws(LicenseError) -> [MACAddress] {
        let taken = takeAll(key)
        guard !taken.isEmpty else {
            throw .malformedPayload(line: next?.line ?? fields.count + 1, reason: "expected at least one '\(key)' field")
        }
        var result: [MACAddress] = []
        for field in taken {
            do {
                result.append(try MACAddress(parsing: field.value))
            } catch {
                throw .malformedPayload(line: field.line, reason: error.description)
            }
        }
        return result
    }
}
