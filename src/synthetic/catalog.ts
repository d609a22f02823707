/**
 * What the internet throws at a honeypot, as static data: popular credentials, the recon
 * commands everyone types, proxy check targets, and SSH client profiles (version string,
 * offered algorithms and their hassh). Written for the synthetic generator; nothing here is
 * copied from a real log.
 */
import { createHash } from "node:crypto"

/** [username, password], most popular first (the order gives Zipf weights). */
export const POPULAR_SSH_CREDENTIALS: ReadonlyArray<readonly [string, string]> = [
  ["root", "123456"], ["root", "admin"], ["admin", "admin"], ["root", "root"], ["root", "password"],
  ["root", "12345678"], ["user", "user"], ["root", "1234"], ["admin", "123456"], ["pi", "raspberry"],
  ["ubnt", "ubnt"], ["root", "toor"], ["test", "test"], ["root", "123"], ["admin", "password"],
  ["oracle", "oracle"], ["root", "qwerty"], ["guest", "guest"], ["root", "1qaz2wsx"], ["ubuntu", "ubuntu"],
  ["root", "P@ssw0rd"], ["support", "support"], ["ftpuser", "ftpuser"], ["postgres", "postgres"], ["root", "111111"],
  ["admin", "1234"], ["git", "git"], ["hadoop", "hadoop"], ["root", "default"], ["admin", "admin123"],
  ["root", "root123"], ["test", "123456"], ["user", "123456"], ["root", "passw0rd"], ["mysql", "mysql"],
  ["root", "1q2w3e4r"], ["root", "abc123"], ["centos", "centos"], ["deploy", "deploy"], ["root", "000000"],
  ["vagrant", "vagrant"], ["root", "changeme"], ["admin", "default"], ["root", "welcome"], ["tomcat", "tomcat"],
  ["root", "qwe123"], ["jenkins", "jenkins"], ["nagios", "nagios"], ["root", "123123"], ["admin", "qwerty"],
  ["root", "letmein"], ["debian", "debian"], ["root", "654321"], ["minecraft", "minecraft"], ["admin", "password1"]
]

/** Telnet (IoT) defaults, Mirai-era lists. */
export const POPULAR_TELNET_CREDENTIALS: ReadonlyArray<readonly [string, string]> = [
  ["root", "xc3511"], ["root", "vizxv"], ["admin", "admin"], ["root", "admin"], ["root", "888888"],
  ["root", "xmhdipc"], ["root", "default"], ["root", "juantech"], ["root", "123456"], ["root", "54321"],
  ["support", "support"], ["root", ""], ["admin", "password"], ["root", "root"], ["root", "12345"],
  ["user", "user"], ["admin", ""], ["root", "pass"], ["admin", "1234"], ["root", "1111"],
  ["guest", "guest"], ["root", "anko"], ["root", "hi3518"], ["root", "klv123"], ["root", "7ujMko0admin"],
  ["default", "default"], ["root", "dreambox"], ["root", "realtek"], ["admin", "smcadmin"], ["root", "ikwb"]
]

/** Usernames scanners walk through with dictionary passwords. */
export const DICTIONARY_USERS: ReadonlyArray<string> = [
  "root", "root", "root", "admin", "user", "test", "ubuntu", "oracle", "postgres", "ftpuser", "git", "guest",
  "deploy", "dev", "www", "web", "student", "teamspeak", "minecraft", "es", "elastic", "hadoop", "steam", "sysadmin"
]

/** Syllables for dictionary-style passwords that are neither popular nor kit-specific. */
export const SYLLABLES: ReadonlyArray<string> = [
  "ka", "lo", "mi", "ne", "ra", "to", "vi", "su", "de", "ba", "co", "li", "ma", "no", "pe", "ri", "sa", "te", "zu",
  "an", "el", "or", "us", "in", "ar", "ic", "ox", "ty", "ha", "ge", "fu", "wo", "ja", "qi", "xo"
]

/** Recon commands every kind of attacker types. */
export const COMMON_RECON: ReadonlyArray<string> = [
  "uname -a", "whoami", "w", "id", "cat /proc/cpuinfo", "free -m", "ls -la", "ps aux", "uptime",
  "cat /etc/issue", "nproc", "uname -m", "df -h", "ifconfig", "cat /etc/os-release", "hostname", "pwd",
  "last", "history", "top", "uname -r", "cat /etc/passwd", "lscpu", "netstat -an", "crontab -l", "echo 1",
  "exit", "ls /tmp", "cat /proc/meminfo", "uname"
]

/**
 * Public "bot checker" scripts pasted by unrelated actors: the same exact sequence from
 * people who have nothing to do with each other (a behavioural link that is not a campaign).
 */
export const PUBLIC_TOOLKITS: ReadonlyArray<ReadonlyArray<string>> = [
  ["uname -a", "nproc", "free -m"],
  ["cat /proc/cpuinfo | grep name | wc -l", "uname -a", "whoami"],
  ["export HISTFILE=/dev/null", "uname -a", "cat /proc/cpuinfo | grep model | head -1", "free -h"],
  ["cat /etc/issue", "uname -r", "id", "w"],
  ["echo \"ok\"", "uname -snrm", "ls -la /tmp"],
  ["cd /tmp", "ls -la", "cat /etc/passwd | head -5"]
]

/** Recon commands of attack kits (the building blocks of their templates). */
export const KIT_RECON: ReadonlyArray<string> = [
  "uname -a",
  "uname -s -v -n -r -m",
  "uname -m",
  "cat /proc/cpuinfo | grep name | wc -l",
  "cat /proc/cpuinfo | grep name | head -n 1 | awk '{print $4,$5,$6,$7,$8,$9;}'",
  "free -m | grep Mem | awk '{print $2 ,$3, $4, $5, $6, $7}'",
  "ls -lh $(which ls)",
  "which ls",
  "crontab -l",
  "w",
  "top",
  "whoami",
  "lscpu | grep Model",
  "df -h | head -n 2 | awk 'FNR == 2 {print $2;}'",
  "nproc",
  "cat /etc/issue",
  "ps -ef | grep -v grep | grep -i -E 'xmrig|kdevtmpfsi|kinsing'",
  "ip addr show | grep inet",
  "cat /etc/os-release | head -n 3",
  "id",
  "hostname",
  "uptime",
  "netstat -plnt",
  "getconf LONG_BIT",
  "ulimit -n",
  "cat /proc/meminfo | head -n 2",
  "nvidia-smi --list-gpus",
  "ls -la /dev/shm /tmp /var/tmp",
  "cat /proc/version",
  "lspci | grep -i vga",
  "dmidecode -t system | grep Product",
  "echo $SHELL",
  "cat /sys/class/dmi/id/product_name",
  "systemctl list-units --type=service --state=running | head -n 20"
]

/** Commands miners run to evict competitors. */
export const COMPETITOR_KILL: ReadonlyArray<string> = [
  "pkill -9 -f xmrig; pkill -9 -f kdevtmpfsi; pkill -9 -f kinsing",
  "ps aux | grep -v grep | grep -E 'minerd|cpuminer|xmr' | awk '{print $2}' | xargs -r kill -9",
  "rm -rf /tmp/kdevtmpfsi /var/tmp/kinsing /tmp/.xm*",
  "killall -9 .sysupdate networkservice sysguard 2>/dev/null",
  "systemctl stop aliyun.service; systemctl disable aliyun.service"
]

/** Hosts proxy checkers and spammers ask for through direct-tcpip. */
export const FORWARD_TARGETS: ReadonlyArray<string> = [
  "www.google.com:443", "www.google.com:80", "api.ipify.org:443", "ip-api.com:80", "azenv.net:80", "httpbin.org:80",
  "www.bing.com:443", "ifconfig.me:80", "icanhazip.com:80", "checkip.amazonaws.com:80", "www.yahoo.com:443",
  "api.my-ip.io:443", "ipinfo.io:443", "www.cloudflare.com:443", "smtp.gmail.com:587", "www.baidu.com:80"
]

/** cowrie `session.params` arch strings. */
export const ARCHES: ReadonlyArray<string> = ["linux-x64-lsb", "linux-x64-lsb", "linux-x64-lsb", "linux-arm-lsb", "linux-mips-lsb", "linux-i686-lsb"]

/** Payload script names kits like. */
export const SCRIPT_NAMES: ReadonlyArray<string> = [
  "bins.sh", "x.sh", "update.sh", "sys.sh", "ok.sh", "run.sh", "setup.sh", "i.sh", "lol.sh", "a.sh", "init.sh",
  "start.sh", "ssh.sh", "go.sh", "sh", "w.sh", "c.sh", "b.sh", "xx.sh", "ohshit.sh"
]

/** Names dropped binaries hide under. */
export const BINARY_NAMES: ReadonlyArray<string> = [
  "kworker", "sshd", "xmrig", "systemd-net", "dbus-daemon", "crond", "atd", "kthreadd", "networkd", "udevd",
  "ksoftirqd", "irqbalance", "php-fpm", "redis-server", "cpuhelper", "sysupdate"
]

export const CPU_ARCHES: ReadonlyArray<string> = ["x86", "x86_64", "arm", "arm5", "arm6", "arm7", "mips", "mpsl", "m68k", "ppc", "sh4", "spc"]

/** Comments operators put after their planted key. */
export const KEY_COMMENTS: ReadonlyArray<string> = [
  "mdrfckr", "rsa-key-20230614", "root@localhost", "admin@server", "ubuntu@ip-10-0-0-12", "key", "imported-openssh-key",
  "nobody@nowhere", "root@debian", "user@kali", "backup", "ansible-generated", "deploy@ci", "root@vps"
]

/** An SSH client as a honeypot sees it: version banner and the algorithms it offers. */
export interface ClientProfile {
  readonly version: string
  readonly kex: ReadonlyArray<string>
  readonly enc: ReadonlyArray<string>
  readonly mac: ReadonlyArray<string>
  readonly comp: ReadonlyArray<string>
  readonly hostKeys: ReadonlyArray<string>
  /** md5 of "kex;enc;mac;comp", exactly how hassh is defined. */
  readonly hassh: string
  /** The JSON members of cowrie's client.kex event between "hassh" and "message". */
  readonly kexJson: string
}

const OPENSSH_MAC = [
  "umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
  "hmac-sha1-etm@openssh.com", "umac-64@openssh.com", "umac-128@openssh.com", "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"
]
const OPENSSH_KEX_8 = [
  "curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
  "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
  "diffie-hellman-group14-sha256", "ext-info-c"
]
const OPENSSH_ENC = ["chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
const OPENSSH_HOSTKEYS = [
  "ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com",
  "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"
]

const jsonList = (xs: ReadonlyArray<string>): string => JSON.stringify(xs)

/** Builds a profile, computing its hassh and the kex event members once. */
export const makeProfile = (
  version: string,
  kex: ReadonlyArray<string>,
  enc: ReadonlyArray<string>,
  mac: ReadonlyArray<string>,
  comp: ReadonlyArray<string>,
  hostKeys: ReadonlyArray<string>
): ClientProfile => {
  const algorithms = `${kex.join(",")};${enc.join(",")};${mac.join(",")};${comp.join(",")}`
  const hassh = createHash("md5").update(algorithms).digest("hex")
  const kexJson = `"hasshAlgorithms":${JSON.stringify(algorithms)},"kexAlgs":${jsonList(kex)},"keyAlgs":${jsonList(hostKeys)},` +
    `"encCS":${jsonList(enc)},"macCS":${jsonList(mac)},"compCS":${jsonList(comp)},"langCS":[""]`
  // Flattened once: a rope here would be re-walked by every line that embeds it.
  return { version, kex, enc, mac, comp, hostKeys, hassh, kexJson: Buffer.from(kexJson, "latin1").toString("latin1") }
}

export const PROFILES = {
  openssh74: makeProfile(
    "SSH-2.0-OpenSSH_7.4",
    ["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
      "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512",
      "diffie-hellman-group-exchange-sha1", "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1", "ext-info-c"],
    [...OPENSSH_ENC, "aes128-cbc", "aes192-cbc", "aes256-cbc", "blowfish-cbc", "cast128-cbc", "3des-cbc"],
    OPENSSH_MAC,
    ["none", "zlib@openssh.com", "zlib"],
    ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-dss"]
  ),
  openssh82: makeProfile("SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.5", OPENSSH_KEX_8, OPENSSH_ENC, OPENSSH_MAC, ["none", "zlib@openssh.com", "zlib"], OPENSSH_HOSTKEYS),
  openssh87: makeProfile(
    "SSH-2.0-OpenSSH_8.7",
    OPENSSH_KEX_8,
    [...OPENSSH_ENC, "aes128-cbc", "3des-cbc", "aes256-cbc", "aes192-cbc"],
    OPENSSH_MAC,
    ["none", "zlib@openssh.com", "zlib"],
    OPENSSH_HOSTKEYS
  ),
  openssh93: makeProfile(
    "SSH-2.0-OpenSSH_9.3",
    ["sntrup761x25519-sha512@openssh.com", ...OPENSSH_KEX_8],
    OPENSSH_ENC,
    OPENSSH_MAC,
    ["none", "zlib@openssh.com", "zlib"],
    OPENSSH_HOSTKEYS
  ),
  go: makeProfile(
    "SSH-2.0-Go",
    ["curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"],
    ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"],
    ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-256", "hmac-sha1", "hmac-sha1-96"],
    ["none"],
    ["ssh-rsa-cert-v01@openssh.com", "ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
  ),
  goNew: makeProfile(
    "SSH-2.0-Go",
    ["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
      "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1", "ext-info-c"],
    ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr"],
    ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1", "hmac-sha1-96"],
    ["none"],
    ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
  ),
  libssh096: makeProfile(
    "SSH-2.0-libssh_0.9.6",
    ["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
      "diffie-hellman-group18-sha512", "diffie-hellman-group16-sha512", "diffie-hellman-group-exchange-sha256",
      "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1", "ext-info-c"],
    ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr", "aes256-cbc", "aes192-cbc", "aes128-cbc"],
    ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha1-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"],
    ["none", "zlib@openssh.com"],
    ["ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
  ),
  libssh063: makeProfile(
    "SSH-2.0-libssh-0.6.3",
    ["curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"],
    ["aes256-ctr", "aes192-ctr", "aes128-ctr", "aes256-cbc", "aes192-cbc", "aes128-cbc", "blowfish-cbc", "3des-cbc"],
    ["hmac-sha1"],
    ["none", "zlib", "zlib@openssh.com"],
    ["ecdsa-sha2-nistp256", "ssh-rsa", "ssh-dss"]
  ),
  libssh2_19: makeProfile(
    "SSH-2.0-libssh2_1.9.0",
    ["ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
      "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
      "diffie-hellman-group-exchange-sha1"],
    ["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes256-cbc", "rijndael-cbc@lysator.liu.se", "aes192-cbc", "aes128-cbc", "blowfish-cbc", "arcfour128", "arcfour", "cast128-cbc", "3des-cbc"],
    ["hmac-sha2-256", "hmac-sha2-512", "hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96", "hmac-ripemd160", "hmac-ripemd160@openssh.com"],
    ["none"],
    ["ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "ssh-dss"]
  ),
  libssh2_143: makeProfile(
    "SSH-2.0-libssh2_1.4.3",
    ["diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1"],
    ["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes256-cbc", "rijndael-cbc@lysator.liu.se", "aes192-cbc", "aes128-cbc", "blowfish-cbc", "arcfour128", "arcfour", "cast128-cbc", "3des-cbc"],
    ["hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96", "hmac-ripemd160", "hmac-ripemd160@openssh.com"],
    ["none"],
    ["ssh-rsa", "ssh-dss"]
  ),
  paramiko27: makeProfile(
    "SSH-2.0-paramiko_2.7.2",
    ["curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group16-sha512",
      "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256", "diffie-hellman-group-exchange-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"],
    ["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc", "blowfish-cbc", "3des-cbc"],
    ["hmac-sha2-256", "hmac-sha2-512", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha1", "hmac-md5", "hmac-sha1-96", "hmac-md5-96"],
    ["none"],
    ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa", "rsa-sha2-512", "rsa-sha2-256", "ssh-dss"]
  ),
  paramiko34: makeProfile(
    "SSH-2.0-paramiko_3.4.0",
    ["curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group16-sha512",
      "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256", "diffie-hellman-group-exchange-sha1", "diffie-hellman-group14-sha1", "ext-info-c"],
    ["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc"],
    ["hmac-sha2-256", "hmac-sha2-512", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha1", "hmac-md5"],
    ["none"],
    ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
  ),
  putty: makeProfile(
    "SSH-2.0-PuTTY_Release_0.78",
    ["curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
      "diffie-hellman-group18-sha512", "diffie-hellman-group17-sha512", "diffie-hellman-group16-sha512", "diffie-hellman-group15-sha512",
      "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256", "ext-info-c", "kex-strict-c-v00@openssh.com"],
    ["aes256-gcm@openssh.com", "aes256-ctr", "aes256-cbc", "rijndael-cbc@lysator.liu.se", "aes192-ctr", "aes192-cbc", "aes128-gcm@openssh.com", "aes128-ctr", "aes128-cbc", "chacha20-poly1305@openssh.com", "3des-ctr", "3des-cbc"],
    ["hmac-sha2-256", "hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-sha2-256-etm@openssh.com", "hmac-sha1-etm@openssh.com", "hmac-md5-etm@openssh.com"],
    ["none", "zlib", "zlib@openssh.com"],
    ["ssh-ed448", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
  ),
  asyncssh: makeProfile(
    "SSH-2.0-AsyncSSH_2.13.0",
    ["curve25519-sha256", "curve25519-sha256@libssh.org", "curve448-sha512", "ecdh-sha2-nistp521", "ecdh-sha2-nistp384", "ecdh-sha2-nistp256",
      "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256", "diffie-hellman-group16-sha512", "ext-info-c"],
    ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com", "aes256-ctr", "aes192-ctr", "aes128-ctr"],
    ["umac-64-etm@openssh.com", "umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"],
    ["zlib@openssh.com", "none"],
    ["ssh-ed25519", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa"]
  ),
  jsch: makeProfile(
    "SSH-2.0-JSCH-0.1.54",
    ["ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha256",
      "diffie-hellman-group-exchange-sha1", "diffie-hellman-group1-sha1"],
    ["aes128-ctr", "aes128-cbc", "3des-ctr", "3des-cbc", "blowfish-cbc", "aes192-ctr", "aes192-cbc", "aes256-ctr", "aes256-cbc"],
    ["hmac-md5", "hmac-sha1", "hmac-sha2-256", "hmac-sha1-96", "hmac-md5-96"],
    ["none"],
    ["ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]
  )
} as const satisfies Record<string, ClientProfile>

/** Banners of scanners that disconnect after the version exchange (no kex, no login). */
export const SCANNER_BANNERS: ReadonlyArray<string> = [
  "SSH-2.0-ZGrab ZGrab SSH Survey", "SSH-2.0-Nmap-SSH2-Hostkey", "SSH-2.0-OpenSSH_7.4p1", "SSH-2.0-Go", "SSH-2.0-libssh2_1.9.0",
  "SSH-2.0-SSHScanner", "SSH-2.0-OpenSSH"
]

/** Client profiles of background actors, with how often each is seen. */
export const BACKGROUND_PROFILES: ReadonlyArray<readonly [ClientProfile, number]> = [
  [PROFILES.openssh82, 12], [PROFILES.openssh87, 10], [PROFILES.openssh93, 9], [PROFILES.openssh74, 8],
  [PROFILES.go, 12], [PROFILES.goNew, 9], [PROFILES.libssh096, 9], [PROFILES.libssh063, 5],
  [PROFILES.libssh2_19, 5], [PROFILES.libssh2_143, 3], [PROFILES.paramiko27, 6], [PROFILES.paramiko34, 4],
  [PROFILES.putty, 2], [PROFILES.asyncssh, 3], [PROFILES.jsch, 2]
]

/** Client profiles bot kits are written with (shared between unrelated kits). */
export const KIT_PROFILES: ReadonlyArray<readonly [ClientProfile, number]> = [
  [PROFILES.go, 10], [PROFILES.goNew, 8], [PROFILES.libssh096, 8], [PROFILES.libssh063, 5], [PROFILES.libssh2_19, 5],
  [PROFILES.libssh2_143, 3], [PROFILES.paramiko27, 5], [PROFILES.paramiko34, 3], [PROFILES.openssh74, 3], [PROFILES.asyncssh, 2]
]

/**
 * hassh → the kex event members of the profile that has it, for the cowrie writer. Every
 * built-in profile is here; kit-specific profiles are added when a family is built. Entries
 * are a pure function of the algorithm lists, so re-registering is harmless.
 */
const KEX_JSON = new Map<string, string>()

export const registerProfile = (profile: ClientProfile): void => {
  if (!KEX_JSON.has(profile.hassh)) KEX_JSON.set(profile.hassh, profile.kexJson)
}

/** The kex members of a known hassh, or undefined for one this module never built. */
export const kexJsonFor = (hassh: string): string | undefined => KEX_JSON.get(hassh)

for (const profile of Object.values(PROFILES)) registerProfile(profile)
