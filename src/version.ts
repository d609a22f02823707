/** The engine version written into every result (kept equal to package.json's version). */
export const ENGINE_VERSION = "0.1.0"
