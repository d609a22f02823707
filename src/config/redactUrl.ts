/** The URL with its password replaced, for messages and `dshield-coord config`. */
export const redactUrl = (url: string): string => url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@")
