//! Artist and title reduced to what identifies a recording across stores and taggers, so that
//! "Âme & Dixon feat. X – Rej (Original Mix)" from a shop matches "Ame, Dixon - Rej" in a file:
//! case, accents, punctuation and spacing are dropped; featured artists and "(Original Mix)"
//! (the version a title means when it names none) are left out; several artists compare as a
//! set, whatever joins them (`&`, `,`, `x`, `and`, `vs`). A remix, edit or other version is kept:
//! it is a different recording.

use unicode_normalization::UnicodeNormalization;

/// Lower case, accents removed (Unicode decomposition without the combining marks; the Latin
/// letters that do not decompose spelled out), every other character but letters and digits a
/// space, spaces collapsed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match c {
            'ß' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            'ł' | 'Ł' => out.push('l'),
            'þ' | 'Þ' => out.push_str("th"),
            c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            // An apostrophe joins a word ("Don't" = "Dont"); anything else separates.
            '\'' | '’' => {}
            _ => out.push(' '),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words that start a featured-artist credit.
const FEATURING: [&str; 4] = ["feat", "ft", "featuring", "with"];

/// `text` folded, cut before a featured-artist credit.
fn without_featuring(folded: &str) -> String {
    let words: Vec<&str> = folded.split(' ').collect();
    let cut = words.iter().position(|w| FEATURING.contains(w)).filter(|&i| i > 0).unwrap_or(words.len());
    words[..cut].join(" ")
}

/// The artist key: the credited artists without featured ones, folded, as a sorted set.
pub fn artist_key(artist: &str) -> String {
    // The joining characters become a joining word before folding turns them into spaces.
    let folded = fold(&artist.replace(['&', ',', '/', ';', '+'], " and "));
    let mut names: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (i, word) in folded.split(' ').enumerate() {
        if i > 0 && FEATURING.contains(&word) {
            break;
        }
        if matches!(word, "and" | "x" | "vs" | "versus") {
            if !current.is_empty() {
                names.push(current.join(" "));
                current.clear();
            }
        } else if !word.is_empty() {
            current.push(word);
        }
    }
    if !current.is_empty() {
        names.push(current.join(" "));
    }
    names.sort();
    names.dedup();
    names.join(" | ")
}

/// The title key: folded, without a featured-artist credit and without "(Original Mix)" /
/// "- Original Mix" / "(Original Version)".
pub fn title_key(title: &str) -> String {
    // Bracketed parts that only credit guests or name the original version are dropped.
    let mut kept = String::with_capacity(title.len());
    let mut rest = title;
    while let Some(open) = rest.find(['(', '[']) {
        kept.push_str(&rest[..open]);
        let close = rest[open..].find([')', ']']).map_or(rest.len(), |c| open + c + 1);
        let inner = fold(&rest[open..close]);
        let first = inner.split(' ').next().unwrap_or("");
        if !(FEATURING.contains(&first) || is_original(&inner)) {
            kept.push(' ');
            kept.push_str(&rest[open..close]);
        }
        rest = &rest[close..];
    }
    kept.push_str(rest);
    let mut folded = without_featuring(&fold(&kept));
    for suffix in [" original mix", " original version", " original"] {
        if let Some(stripped) = folded.strip_suffix(suffix) {
            folded = stripped.to_string();
            break;
        }
    }
    folded
}

fn is_original(folded: &str) -> bool {
    matches!(folded, "original mix" | "original" | "original version")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_accents_and_punctuation() {
        assert_eq!(fold("Âme – Rej!"), "ame rej");
        assert_eq!(fold("Röyksopp's  Night  Out"), "royksopps night out");
        assert_eq!(fold("Straße Œuvre Ø"), "strasse oeuvre o");
        assert_eq!(fold("ＡＢＣ"), "abc", "full-width letters");
    }

    #[test]
    fn artists_compare_as_sets_without_guests() {
        assert_eq!(artist_key("Âme & Dixon"), artist_key("Dixon, Ame"));
        assert_eq!(artist_key("Ame x Dixon feat. Matthew Herbert"), artist_key("Âme & Dixon"));
        assert_eq!(artist_key("Bicep ft. Clara La San"), "bicep");
        assert_ne!(artist_key("Simon & Garfunkel"), artist_key("Simon"));
        assert_eq!(artist_key("Above and Beyond"), artist_key("Above & Beyond"));
    }

    #[test]
    fn titles_keep_versions_but_not_original_mix_or_guests() {
        assert_eq!(title_key("Rej (Original Mix)"), "rej");
        assert_eq!(title_key("Rej - Original Mix"), "rej");
        assert_eq!(title_key("Rej [feat. Someone]"), "rej");
        assert_eq!(title_key("Rej feat. Someone"), "rej");
        assert_eq!(title_key("Rej (Dixon Remix)"), "rej dixon remix");
        assert_ne!(title_key("Rej (Dixon Remix)"), title_key("Rej"));
        assert_eq!(title_key("Original"), "original", "a title that is only the word stays");
    }
}
