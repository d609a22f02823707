/**
 * The few DOM members the functions handed to Playwright's `page.evaluate` use. Those
 * functions run in the page (Playwright sends their source); the project is type-checked
 * without the DOM library, so the page's globals are declared with these types.
 */
export interface PageElement {
  value: string
  textContent: string | null
  readonly dataset: Readonly<Record<string, string | undefined>>
  readonly width: number
  readonly height: number
  dispatchEvent(event: Event): boolean
  scrollIntoView(options?: { readonly block?: "start" | "center" | "end" | "nearest" }): void
  getContext(kind: "2d"): { getImageData(x: number, y: number, width: number, height: number): { readonly data: ArrayLike<number> } } | null
}

export interface PageDocument {
  getElementById(id: string): PageElement | null
  querySelectorAll(selector: string): { readonly length: number }
}
