import common from "./commonPasswords.json" with { type: "json" }

/**
 * Credentials as evidence. Popular pairs (root/admin, admin/admin, pi/raspberry, …) are what
 * every scanner tries: they never link sessions on their own. A pair in no dictionary that
 * several sources use verbatim is a campaign marker; the whole list a source tries is its
 * wordlist fingerprint (linkage.ts).
 */

/** Passwords and usernames of public default-credential and top-password lists. */
const POPULAR_PASSWORDS = new Set([
  "", "<empty>", "!", "0", "1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890",
  "111111", "1111", "000000", "0000", "00000000", "654321", "666666", "888888", "121212", "123123", "123321",
  "password", "password1", "password123", "Password", "Password1", "passw0rd", "p@ssw0rd", "P@ssw0rd", "pass", "passwd",
  "admin", "admin1", "admin12", "admin123", "admin1234", "admin@123", "Admin", "administrator", "root", "root123",
  "toor", "r00t", "default", "guest", "user", "test", "test123", "support", "service", "system", "manager",
  "changeme", "letmein", "welcome", "qwerty", "qwerty123", "abc123", "1q2w3e4r", "1qaz2wsx", "qwe123", "zaq12wsx",
  "raspberry", "ubnt", "oracle", "postgres", "mysql", "ftp", "git", "hadoop", "ubuntu", "centos", "debian", "pi",
  "vagrant", "nagios", "tomcat", "jenkins", "minecraft", "teamspeak", "default123", "motorola", "pfsense", "aerohive",
  "usuario", "cisco", "huawei", "zte", "vizxv", "xc3511", "anko", "7ujMko0admin", "7ujMko0vizxv", "klv123", "hi3518",
  "jvbzd", "juantech", "dreambox", "realtek", "xmhdipc", "smcadmin", "ikwb", "fucker", "888888888", "54321", "1111111"
])

const POPULAR_USERNAMES = new Set([
  "root", "admin", "administrator", "user", "test", "guest", "support", "pi", "ubnt", "oracle", "postgres", "mysql",
  "ftp", "ftpuser", "git", "hadoop", "ubuntu", "centos", "debian", "vagrant", "nagios", "tomcat", "jenkins", "www",
  "www-data", "web", "default", "service", "system", "operator", "manager", "usuario", "sa", "deploy", "dev", "ansible"
])

/**
 * The common-password list of zxcvbn-ts (MIT; about 49,000 passwords from public leak
 * frequency lists), lower-cased: any password in it is in the wordlists every scanner walks.
 * Read as data (commonPasswords.json): importing the package decompressed its dictionaries,
 * 35–40 ms of every command's start on the reference machine.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(common.passwords)

/**
 * True for a pair whose password is on the public lists (or a placeholder, too short, or a
 * popular user name repeated): what every scanner walks, whatever the pair's user name.
 */
export const isListedCredential = (username: string, password: string): boolean =>
  POPULAR_PASSWORDS.has(password) ||
  POPULAR_PASSWORDS.has(password.toLowerCase()) ||
  COMMON_PASSWORDS.has(password.toLowerCase()) ||
  // Placeholders some honeypot configs log instead of a password: "<Any pass>", "<empty>".
  /^<[^>]*>$/.test(password) ||
  username.length === 0 ||
  password.length < 5 ||
  (POPULAR_USERNAMES.has(username) && password === username)

/**
 * True for a pair every scanner tries: listed, or a password mangled from the user name
 * (admin123, root@2024, Oracle1, sagar/sagar), which wordlists derive by rule.
 */
export const isPopularCredential = (username: string, password: string): boolean =>
  isListedCredential(username, password) ||
  (username.length >= 2 && password.toLowerCase().includes(username.toLowerCase())) ||
  (username.length >= 3 && password.toLowerCase().includes([...username.toLowerCase()].reverse().join("")))

/**
 * A pair in no dictionary becomes a campaign marker when this many source IPs use it verbatim:
 * a botnet's own check login is carried by every bot, however many. Two sources sharing an
 * unusual password is evidence, not a campaign.
 */
export const CREDENTIAL_MARKER_MIN_SOURCES = 3
