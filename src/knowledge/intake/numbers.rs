//! Counts written as digits or as words, in the languages travellers write in.
//! A number word is only a count next to what it counts ("two weeks", "hai người",
//! "deux jours"): "nam", "ba" and "lima" are also words and places.

use super::text::{Token, Tokens};

/// Folded number words, by value. English, Vietnamese, French, Spanish, German,
/// Portuguese, Italian and Indonesian; words shared by several languages appear once.
const NUMBER_WORDS: &[(u32, &str)] = &[
    (
        1,
        "one a an single mot un une uno una ein eine einen einem einer um satu",
    ),
    (2, "two hai deux dos zwei dois duas due dua couple pair"),
    (3, "three ba trois tres drei tre tiga"),
    (4, "four bon quatre cuatro vier quatro quattro empat"),
    (5, "five nam lam cinq cinco funf cinque lima"),
    (6, "six sau seis sechs sei enam"),
    (7, "seven bay sept siete sieben sete sette tujuh"),
    (8, "eight tam huit ocho acht oito otto delapan"),
    (9, "nine chin neuf nueve neun nove sembilan"),
    (10, "ten muoi dix diez zehn dez dieci sepuluh"),
    (11, "eleven onze once elf undici"),
    (12, "twelve douze doce zwolf doze dodici"),
    (13, "thirteen treize trece dreizehn treze tredici"),
    (14, "fourteen quatorze catorce vierzehn catorze quattordici"),
    (15, "fifteen quinze quince funfzehn quindici"),
    (16, "sixteen seize dieciseis sechzehn"),
    (17, "seventeen"),
    (18, "eighteen"),
    (19, "nineteen"),
    (20, "twenty vingt veinte zwanzig vinte venti"),
    (21, "twentyone"),
    (30, "thirty trente treinta dreissig trinta trenta"),
];

/// Number words written with diacritics.
const ACCENTED_NUMBERS: &[&str] = &[
    "một",
    "bốn",
    "tư",
    "năm",
    "lăm",
    "sáu",
    "bảy",
    "tám",
    "chín",
    "mười",
    "mươi",
    "fünf",
    "zwölf",
    "fünfzehn",
    "três",
    "dieciséis",
    "dreißig",
];

pub(super) fn number_word(word: &str) -> Option<u32> {
    NUMBER_WORDS
        .iter()
        .find(|(_, words)| super::text::listed(words, word))
        .map(|(n, _)| *n)
}

/// A count at `i`: digits, or a number word (including Vietnamese compounds
/// "mười lăm" = 15, "hai mươi" = 20). Returns the value and how many tokens it spans.
pub(super) fn count_at(tokens: &Tokens, i: usize) -> Option<(f64, usize)> {
    match tokens.get(i)? {
        token @ Token::Number { .. } => token.bare_number().map(|n| (n, 1)),
        Token::Word { text, exact, .. } => {
            // Typed with diacritics, a Vietnamese word says which it is: "tầm" (about)
            // is not "tám" (8), "Hải" (sea) not "hai" (2), "sau" (after) not "sáu" (6).
            if !exact.is_ascii() && !ACCENTED_NUMBERS.contains(&exact.as_str()) {
                return None;
            }
            let first = number_word(text)?;
            let next = tokens.word(i + 1).and_then(number_word);
            match (text.as_str(), next) {
                // "mười lăm" (15), "mười hai" (12)
                ("muoi", Some(unit)) if unit < 10 => Some((f64::from(10 + unit), 2)),
                // "hai mươi" (20), "ba mươi" (30)
                (_, Some(10)) if first < 10 && tokens.word(i + 1) == Some("muoi") => {
                    Some((f64::from(first * 10), 2))
                }
                _ => Some((f64::from(first), 1)),
            }
        }
        _ => None,
    }
}
