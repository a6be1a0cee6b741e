//! Words the parser reads or ignores, in every language it reads, so that none of them
//! is ever taken for a town's name or reported as an unknown place.

use super::text::listed;

/// Filler words that are never place names (folded, space-separated).
const STOPWORDS: &str = "i im me my we our us you a an the to in on at for of and or with from then \
    trip travel travelling traveling vacation holiday holidays plan planning please help want wanna would \
    like love go going visit visiting explore need looking some days day nights night week weeks month next \
    this can could it is be are around about under over usd dollars per person people adults kids children \
    hi hello hey book find get take spend somewhere place city country tour itinerary getaway break \
    honeymoon anniversary first time best good nice great fun suggest recommend show what where how when \
    during by do see just also really very much lot lots weekend fortnight solo alone couple family wife \
    husband partner budget monday tuesday wednesday thursday friday saturday sunday maybe ok okay so \
    thanks thank pls plz hotel hotels flight flights cheap any anywhere somewhere else big small \
    sun sea fly flying leave leaving back home stay trip trips days total each both all max min end start \
    late early mid beach beaches food art ideas idea surprise me warm hot cold cool snow mountains \
    chao ad oi cho minh toi tui em anh chi ban di den tu o va voi ngay dem tuan thang nam nay sau toi \
    muon chuyen du lich nguoi co khong ko hay hoac nhe nha a oi duoc can gi nao dau bao nhieu khoang \
    tam duoi tren ngan sach trieu tr nghin ngan gia dinh vo chong con be xuat phat bay ve ra vao lich \
    trinh giup nen the nhu la thi ma roi xong lam choi an ngu o tai cung tet le hoac mot hai ba bon \
    je tu il nous vous un une des le la les de du au aux et ou pour avec dans sur par voyage jours semaine \
    depuis mois personnes moins que qui est suis sommes veux voudrais aimerais \
    yo quiero viaje dias para desde con y el los las una unos semana personas presupuesto menos \
    mes que en del por hola \
    ich wir eine einen einem tage fur von nach mit und der die das reise woche personen ab urlaub \
    im am zum zur bis aus hallo \
    eu quero viagem dias com uma um pessoas \
    voglio viaggio giorni per da con settimana persone \
    saya kami hari untuk dari dengan dan minggu orang liburan ke di mau \
    bonjour salut hola buenas buenos dias hallo servus moin ciao buongiorno ola oi xin chao \
    sawasdee sawadee krub khrap ka po greetings dear good morning afternoon evening \
    pouvez vous organiser organise organize arrange planifier quiero necesito queremos \
    podrian puedes konnen konnten mochte mochten vorrei possiamo gostaria podem \
    sing malay indo phil trip please thank thanks cam on ban nhe nha a ah \
    something nice anything everything guys nerds folks";

/// Whether `word` (folded) is vocabulary rather than a possible place name.
pub(super) fn is_known_word(word: &str) -> bool {
    listed(STOPWORDS, word)
        || super::dates::month_number(word).is_some()
        || super::numbers::number_word(word).is_some()
        || super::interests::categories_for(word).is_some()
        || super::interests::is_interest_word(word)
        || super::interests::tier_word(word).is_some()
        || listed(super::duration::DAY_UNITS, word)
        || listed(super::duration::NIGHT_UNITS, word)
}
