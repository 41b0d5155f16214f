//! Phone numbers to E.164, the format Braze recommends. No full numbering-plan validation
//! (that library alone would outweigh the whole Worker): numbers are cleaned, national
//! numbers get the person's country calling code, and anything that is not then a
//! well-formed E.164 number is dropped rather than sent.

/// ITU country calling codes by ISO 3166-1 alpha-2. Data, not logic.
const CALLING_CODES: &str = "\
AD376 AE971 AF93 AG1 AI1 AL355 AM374 AO244 AR54 AS1 AT43 AU61 AW297 AX358 AZ994 \
BA387 BB1 BD880 BE32 BF226 BG359 BH973 BI257 BJ229 BL590 BM1 BN673 BO591 BQ599 BR55 BS1 BT975 BW267 BY375 BZ501 \
CA1 CC61 CD243 CF236 CG242 CH41 CI225 CK682 CL56 CM237 CN86 CO57 CR506 CU53 CV238 CW599 CX61 CY357 CZ420 \
DE49 DJ253 DK45 DM1 DO1 DZ213 EC593 EE372 EG20 EH212 ER291 ES34 ET251 FI358 FJ679 FK500 FM691 FO298 FR33 \
GA241 GB44 GD1 GE995 GF594 GG44 GH233 GI350 GL299 GM220 GN224 GP590 GQ240 GR30 GT502 GU1 GW245 GY592 \
HK852 HN504 HR385 HT509 HU36 ID62 IE353 IL972 IM44 IN91 IO246 IQ964 IR98 IS354 IT39 JE44 JM1 JO962 JP81 \
KE254 KG996 KH855 KI686 KM269 KN1 KP850 KR82 KW965 KY1 KZ7 LA856 LB961 LC1 LI423 LK94 LR231 LS266 LT370 LU352 LV371 LY218 \
MA212 MC377 MD373 ME382 MF590 MG261 MH692 MK389 ML223 MM95 MN976 MO853 MP1 MQ596 MR222 MS1 MT356 MU230 MV960 MW265 MX52 MY60 MZ258 \
NA264 NC687 NE227 NF672 NG234 NI505 NL31 NO47 NP977 NR674 NU683 NZ64 OM968 \
PA507 PE51 PF689 PG675 PH63 PK92 PL48 PM508 PR1 PS970 PT351 PW680 PY595 QA974 RE262 RO40 RS381 RU7 RW250 \
SA966 SB677 SC248 SD249 SE46 SG65 SH290 SI386 SJ47 SK421 SL232 SM378 SN221 SO252 SR597 SS211 ST239 SV503 SX1 SY963 SZ268 \
TC1 TD235 TG228 TH66 TJ992 TK690 TL670 TM993 TN216 TO676 TR90 TT1 TV688 TW886 TZ255 \
UA380 UG256 US1 UY598 UZ998 VA39 VC1 VE58 VG1 VI1 VN84 VU678 WF681 WS685 YE967 YT262 ZA27 ZM260 ZW263";

/// Countries whose national numbers keep their leading 0 after the calling code.
const KEEPS_TRUNK_ZERO: [&str; 3] = ["IT", "SM", "VA"];

fn calling_code(alpha2: &str) -> Option<&'static str> {
    CALLING_CODES.split(' ').find(|entry| entry.get(..2).is_some_and(|c| c.eq_ignore_ascii_case(alpha2))).map(|entry| &entry[2..])
}

/// `raw` to E.164 (`+16175550142`), using `country` (alpha-2) for national numbers.
pub fn to_e164(raw: &str, country: Option<&str>) -> Option<String> {
    let raw = raw.trim();
    // Separators people type; anything else (letters, `ext.`) makes the number ambiguous.
    if !raw.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c)) {
        return None;
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let international = if raw.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else {
        let country = country?;
        let code = calling_code(country)?;
        if code == "1" && digits.len() == 11 && digits.starts_with('1') {
            digits
        } else if KEEPS_TRUNK_ZERO.iter().any(|c| c.eq_ignore_ascii_case(country)) {
            format!("{code}{digits}")
        } else {
            format!("{code}{}", digits.strip_prefix('0').unwrap_or(&digits))
        }
    };
    let valid = (7..=15).contains(&international.len()) && !international.starts_with('0');
    valid.then(|| format!("+{international}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_forms() {
        assert_eq!(to_e164("+1 (617) 555-0142", None).as_deref(), Some("+16175550142"));
        assert_eq!(to_e164("0044 20 7946 0958", None).as_deref(), Some("+442079460958"));
        assert_eq!(to_e164("+49 30 901820", Some("US")).as_deref(), Some("+4930901820"));
    }

    #[test]
    fn national_numbers_use_the_country() {
        assert_eq!(to_e164("(617) 555-0142", Some("US")).as_deref(), Some("+16175550142"));
        assert_eq!(to_e164("1-617-555-0142", Some("us")).as_deref(), Some("+16175550142"));
        assert_eq!(to_e164("020 7946 0958", Some("GB")).as_deref(), Some("+442079460958"));
        assert_eq!(to_e164("06 12 34 56 78", Some("FR")).as_deref(), Some("+33612345678"));
        assert_eq!(to_e164("06 1234 5678", Some("IT")).as_deref(), Some("+390612345678"));
    }

    #[test]
    fn ambiguous_or_broken_numbers_are_dropped() {
        for (raw, country) in [("617-555-0142", None), ("555-0142 ext 4", Some("US")), ("+0 123 4567", None), ("+1 23", None), ("+1234567890123456", None), ("call me", Some("US")), ("12345", Some("ZZ"))] {
            assert_eq!(to_e164(raw, country), None, "{raw}");
        }
    }

    #[test]
    fn every_table_entry_is_well_formed() {
        for entry in CALLING_CODES.split(' ') {
            assert!(entry.len() >= 3 && entry[..2].chars().all(|c| c.is_ascii_uppercase()), "{entry}");
            assert!(entry[2..].chars().all(|c| c.is_ascii_digit()), "{entry}");
            assert!(crate::mapping::values::country_alpha2(&entry[..2]).is_some(), "{entry}");
        }
    }
}
