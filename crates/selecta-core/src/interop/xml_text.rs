//! Text made safe for an XML 1.0 attribute value. Characters XML 1.0 cannot hold at all (C0
//! controls other than tab and line breaks, U+FFFE, U+FFFF) are dropped; tab and line breaks
//! become spaces, because a parser folds them into spaces inside an attribute anyway and a
//! track name or playlist name is one line; the five markup characters are escaped by
//! quick-xml.

use std::borrow::Cow;

/// Whether XML 1.0 can carry `c` at all.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// `text` as an attribute value holds it after parsing (the escaping left out).
pub(crate) fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().all(|c| xml_char(c) && !matches!(c, '\t' | '\n' | '\r')) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars().filter(|&c| xml_char(c)).map(|c| if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c }).collect(),
    )
}

/// `text` escaped for use between the quotes of an attribute.
pub(crate) fn attribute(text: &str) -> String {
    quick_xml::escape::escape(clean(text).as_ref()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_impossible_characters_dropped() {
        assert_eq!(attribute("Tom & \"Jerry\" <live> 'x'"), "Tom &amp; &quot;Jerry&quot; &lt;live&gt; &apos;x&apos;");
        assert_eq!(attribute("a\u{0}b\u{1b}c\u{FFFE}"), "abc");
        assert_eq!(attribute("two\nlines\tand\rtab"), "two lines and tab");
        assert_eq!(attribute("Ünïcødé 🎧"), "Ünïcødé 🎧");
    }
}
