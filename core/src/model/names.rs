//! "The same name": the one definition of when two usernames or e-mail addresses name one user,
//! and what a new name may contain.
//!
//! [`fold_case`] maps a name to its index form the way PRECIS UsernameCaseMapped (RFC 8265 3.3)
//! means it to: compatibility forms (full-width `Ａ`, ligatures `ﬁ`, superscripts) become their
//! plain letters (NFKC), then Unicode full case folding (`ß` and `SS` fold alike), then NFKC
//! again, since folding can leave a string unnormalised. Two names with one folded form cannot
//! belong to two users of a tenant. Both steps are stable for assigned characters under Unicode's
//! stability policies, so a folded key stored today is the key computed tomorrow.
//!
//! [`has_invisible`] finds the characters that render as nothing (zero-width spaces and joiners,
//! soft hyphens, bidirectional overrides, variation selectors: Unicode's
//! Default_Ignorable_Code_Point): a new name holding one would look like another name while
//! folding apart from it, so new names refuse them (records stored before are still read).

use unicode_normalization::UnicodeNormalization;

/// The form a username or e-mail address takes in the uniqueness indexes.
pub fn fold_case(s: &str) -> String {
    let compatible: String = s.nfkc().collect();
    caseless::default_case_fold_str(&compatible).nfkc().collect()
}

/// Unicode 16's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt).
const DEFAULT_IGNORABLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `s` holds a character that renders as nothing (see the module documentation).
pub fn has_invisible(s: &str) -> bool {
    s.chars().any(|c| {
        let c = u32::from(c);
        DEFAULT_IGNORABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_compatibility_forms_fold_together() {
        assert_eq!(fold_case("Alice@Example.COM"), "alice@example.com");
        // Full-width letters, as an IME types them.
        assert_eq!(fold_case("\u{FF21}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}"), "alice");
        // A ligature and a superscript.
        assert_eq!(fold_case("\u{FB01}nn\u{00B2}"), "finn2");
        // Full case folding: sharp s against capital double s.
        assert_eq!(fold_case("STRASSE"), fold_case("stra\u{00DF}e"));
        // Composed and decomposed accents are one name.
        assert_eq!(fold_case("Zo\u{00EB}"), fold_case("Zoe\u{0308}"));
        // The Kelvin sign is a K.
        assert_eq!(fold_case("\u{212A}im"), "kim");
    }

    #[test]
    fn distinct_names_stay_distinct() {
        assert_ne!(fold_case("alice"), fold_case("alicé"));
        // Cyrillic а is another letter: confusables are not folded (UTS 39 is not a fold).
        assert_ne!(fold_case("alice"), fold_case("\u{0430}lice"));
    }

    #[test]
    fn folding_is_idempotent() {
        for s in ["Alice", "\u{FF21}b", "STRASSE", "\u{1E9E}", "Zoe\u{0308}", "\u{0130}stanbul", "\u{FB03}"] {
            let once = fold_case(s);
            assert_eq!(fold_case(&once), once, "{s:?}");
        }
    }

    #[test]
    fn invisible_characters_are_found() {
        for s in
            ["a\u{200B}b", "a\u{00AD}b", "a\u{200D}", "\u{202E}abc", "a\u{FE0F}", "\u{FEFF}a", "a\u{E0041}"]
        {
            assert!(has_invisible(s), "{s:?}");
        }
        for s in ["alice", "Zoë.O'Neil+1@x", "\u{4E2D}\u{6587}", "\u{0627}\u{0644}"] {
            assert!(!has_invisible(s), "{s:?}");
        }
    }
}
