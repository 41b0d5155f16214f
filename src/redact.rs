//! Keeps personal data out of anything we write: text from elsewhere (a Braze error message)
//! is scrubbed of email addresses and phone-like digit runs before it reaches a log line or a
//! response body.

/// Digit runs this long (ignoring separators) are treated as phone numbers.
const PHONE_DIGITS: usize = 7;

/// Replaces email addresses with `[email]` and phone-like numbers with `[number]`.
pub fn scrub(text: &str) -> String {
    text.split(' ').map(scrub_word).collect::<Vec<_>>().join(" ")
}

fn scrub_word(word: &str) -> String {
    if word.contains('@') {
        return "[email]".into();
    }
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let phone_like = word.chars().all(|c| c.is_ascii_digit() || "+-().".contains(c));
    if digits >= PHONE_DIGITS && phone_like {
        return "[number]".into();
    }
    word.into()
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn removes_emails_and_phone_numbers() {
        assert_eq!(scrub("bad email Omar@Example.com here"), "bad email [email] here");
        assert_eq!(scrub("phone +1-617-555-0142 invalid"), "phone [number] invalid");
        assert_eq!(scrub("Max Input Length Exceeded"), "Max Input Length Exceeded");
        assert_eq!(scrub("index 12"), "index 12");
    }
}
