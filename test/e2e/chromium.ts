/**
 * Headless Chromium for the report's end-to-end test and benchmark: Debian's chromium
 * (`apt-get install chromium`), driven by playwright-core, with no network of its own.
 */
import { existsSync } from "node:fs"
import { type Browser, chromium } from "playwright-core"

/** Where Debian installs Chromium (CHROMIUM_PATH overrides). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

export const chromiumAvailable = (): boolean => existsSync(CHROMIUM_PATH)

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
