/**
 * Attacker-chosen text (credentials, commands, client versions, URLs: all of it comes from
 * honeypot logs) as it is safe to print on a user's terminal: control characters (terminal
 * escape sequences, NULs, bells, carriage returns) are written as \xHH instead of being sent
 * to the terminal, and the invisible characters that reorder or hide text (bidirectional
 * overrides and isolates, zero-width characters: "Trojan Source") as \uHHHH, so what is shown
 * is what was typed. JSON output needs none of this: JSON.stringify escapes control
 * characters itself, and a JSON reader sees the others as what they are.
 */
export const printable = (text: string): string =>
  text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(/[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
