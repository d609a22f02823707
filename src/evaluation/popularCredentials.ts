/**
 * Credentials that say nothing about who is knocking: device defaults, the credential table
 * compiled into Mirai (and so into every fork of it), and the most common passwords of
 * public leak lists. Pairs built from these, and pairs whose password merely derives from the
 * user name, never make a label (see signatureLabels.ts, "rare credential").
 *
 * The evaluation keeps its own list on purpose: it must not share code with the engine.
 */
import { dictionary } from "@zxcvbn-ts/language-common"

/** user:password pairs (user names compared case-sensitively, as SSH does). */
const PAIRS = `
root:root root:admin root:toor root:password root:123456 root:12345 root:1234 root:123 root:1 root:
root:default root:pass root:user root:system root:changeme root:raspberry root:alpine root:calvin
root:vizxv root:xc3511 root:888888 root:xmhdipc root:juantech root:54321 root:klv123 root:klv1234
root:Zte521 root:hi3518 root:jvbzd root:anko root:zlxx. root:7ujMko0vizxv root:7ujMko0admin root:ikwb
root:dreambox root:realtek root:00000000 root:666666 root:1111 root:1234567 root:12345678 root:123456789
root:qwerty root:abc123 root:1qaz2wsx root:P@ssw0rd root:Passw0rd root:root123 root:admin123 root:ubnt
root:cisco root:openelec root:libreelec root:vagrant root:oelinux123 root:5up root:!root root:uClinux
root:GM8182 root:hunt5759 root:Serv4EMC root:tslinux root:ipcam_rt5350 root:founder88 root:zte9x15
root:twe8ehome root:1001chin root:t0talc0ntr0l4! root:wabjtam root:ivdev root:antslq root:annie2012
root:hg2x0 root:tl789 root:e10adc3949ba59abbe56e057f20f883e root:grouter root:ahetzip8 root:zsun1188
admin:admin admin:password admin:1234 admin:12345 admin:123456 admin:54321 admin:1111 admin:1111111
admin:admin1234 admin:admin123 admin:admin1 admin:pass admin:smcadmin admin:meinsm admin:7ujMko0admin
admin:default admin:changeme admin: admin:aerohive admin:pfsense admin:manager admin:motorola admin:1234567
admin:12345678 admin:123456789 admin:qwerty admin:ubnt admin:cisco admin:system admin:support admin:epicrouter
admin:admin@123 admin:Admin@123 admin:P@ssw0rd admin:letmein admin:welcome admin:super admin:user
admin:0000 admin:00000000 admin:888888 admin:666666 admin:123 admin:4321 admin:zoomadsl admin:microbusiness
Administrator:admin administrator:1234 administrator:admin admin1:password supervisor:supervisor
service:service guest:guest guest:12345 guest:123456 guest: user:user user:password user:123456 user:1234
support:support support:123456 tech:tech mother:fucker 666666:666666 888888:888888 ubnt:ubnt pi:raspberry
pi:raspberryraspberry993311 test:test test:123456 test:test123 test:password oracle:oracle postgres:postgres
mysql:mysql ftp:ftp ftpuser:ftpuser git:git ubuntu:ubuntu centos:centos hadoop:hadoop nagios:nagios
default:default default: daemon:daemon operator:operator manager:manager default:OxhlwSG8 default:S2fGqNFs
default:tlJwpbo6 default:antslq telnetadmin:telnetadmin e8ehome:e8ehome e8telnet:e8telnet
`

/** The most common passwords of public leak lists and brute-force dictionaries. */
const PASSWORDS = `
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball abc123
football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang 1234567890 michael
654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm
asdfgh hunter buster soccer harley batman andrew tigger sunshine iloveyou 2000 charlie robert thomas
hockey ranger daniel starwars klaster 112233 george computer michelle jessica pepper 1111 zxcvbn
555555 11111111 131313 freedom 777777 pass maggie 159753 aaaaaa ginger princess joshua cheese amanda
summer love ashley 6969 nicole chelsea biteme matthew access yankees 987654321 dallas austin thunder
taylor matrix admin root toor default changeme 1q2w3e4r 1q2w3e4r5t 1q2w3e 1qaz2wsx3edc qwe123 qwer1234
q1w2e3r4 P@ssw0rd Passw0rd p@ssw0rd passw0rd password1 password123 Password Password1 Password123
admin123 admin1234 root123 root1234 test123 test 123 1 12 0 00000000 88888888 abcd1234 abc@123
welcome welcome1 letmein1 secret guest user support system server linux ubuntu centos raspberry
123abc a123456 123456a qwerty123 qwerty1 1234qwer asdf1234 zaq12wsx 147258369 123654 12341234 11223344
`

const lines = (text: string): Array<string> => text.split(/\s+/).filter((t) => t.length > 0)

export const POPULAR_PAIRS: ReadonlySet<string> = new Set(
  lines(PAIRS).map((t) => {
    const i = t.indexOf(":")
    return `${t.slice(0, i)}\u0000${t.slice(i + 1)}`
  })
)

/**
 * The fixed list above plus the public common-password list of zxcvbn-ts (MIT, about 30,000
 * passwords ranked by frequency in public leaks): a password in a public wordlist is what
 * every brute-forcer tries, so sharing it says nothing about who is attacking.
 */
export const POPULAR_PASSWORDS: ReadonlySet<string> = new Set([
  ...lines(PASSWORDS).map((p) => p.toLowerCase()),
  ...((dictionary as Record<string, ReadonlyArray<string>>)["passwords-common"] ?? []).map((p) => p.toLowerCase())
])

/** Key of a credential pair in POPULAR_PAIRS and in signature values. */
export const credentialKey = (username: string, password: string): string => `${username}\u0000${password}`

const SUFFIX_ONLY = /^[0-9!@#$%^&*._+-]{1,6}$/

/**
 * A password that merely derives from the user name: equal to it (any case), the name plus a
 * short suffix of digits and symbols ("oracle123", "admin@123"), the name twice, or reversed.
 * Brute-force dictionaries generate these for every user name, so they link nothing.
 */
export const derivesFromUsername = (username: string, password: string): boolean => {
  const u = username.toLowerCase()
  const p = password.toLowerCase()
  if (u.length === 0) return false
  if (p === u || p === u + u || p === [...u].reverse().join("")) return true
  if (p.startsWith(u) && SUFFIX_ONLY.test(p.slice(u.length))) return true
  if (p.endsWith(u) && SUFFIX_ONLY.test(p.slice(0, p.length - u.length))) return true
  return false
}

/** A honeypot placeholder logged instead of a password ("<Any pass>"), not a password. */
export const isPlaceholderPassword = (password: string): boolean => /^<[^<>]*>$/.test(password)

/**
 * Popular by the fixed lists alone: a listed pair, a listed password (any user), an empty
 * user or a password shorter than five characters, a password derived from the user name, or
 * a placeholder such as "<Any pass>".
 * The per-corpus rules (share of source IPs, passwords tried under many user names) are in
 * signatureLabels.ts.
 */
export const isPopularCredential = (username: string, password: string): boolean =>
  POPULAR_PAIRS.has(credentialKey(username, password)) ||
  POPULAR_PASSWORDS.has(password.toLowerCase()) ||
  username.length === 0 ||
  [...password].length < 5 ||
  derivesFromUsername(username, password) ||
  isPlaceholderPassword(password)
