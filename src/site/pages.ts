// The pages of a built directory: whether it has any, and whether its pages link to a page of
// the same site that it lacks (a page a server renders on request).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { isHtml, knownType } from '../core/headers.js'
import { redirectKey, storedRedirects } from '../core/redirects.js'
import type { CollectfastaOptions } from '../options.js'
import { toPosix, urlFiles } from './layout.js'

/** Whether a directory holds an HTML page (the first found ends the walk). */
export function hasPage(dir: string): boolean {
  if (!existsSync(dir)) return false
  return readdirSync(dir, { recursive: true, withFileTypes: true }).some((dirent) => dirent.isFile() && isHtml(dirent.name))
}

/**
 * Whether a link's path names a page: anything but a file of a known type other than HTML, by
 * the content-type lookup the deploy's headers use. `/about`, `/blog/`, `/docs.html`, and also
 * `/docs/v1.2` or `/users/jane.doe` (a dot, but no file type) are pages; `/feed.xml` is not.
 */
const looksLikePage = (path: string) => {
  const name = path.split('/').at(-1) ?? ''
  if (!name.includes('.')) return true
  const type = knownType(name)
  return type === undefined || type === 'text/html'
}

/** The keys of the redirects a deploy with these options stores into `outDir`'s site (none where its strategy stores no redirects). */
export function deployedRedirects(options: Pick<CollectfastaOptions, 'strategy' | 'redirects'>, outDir: string): string[] {
  if (!options.strategy.websiteRedirects) return []
  return storedRedirects(options.redirects ?? [], outDir).rules.map((rule) => redirectKey(rule.from))
}

/** A page of the directory linking to a page of the same site that the directory does not hold. */
export interface MissingPage {
  /** The linking page, relative to the directory. */
  page: string
  /** The link's path, as the browser asks for it. */
  link: string
}

/**
 * The first link (`<a href>`) of the directory's pages to a page of the same site that is
 * neither a file of the directory, a page (`about` as about/index.html or about.html) nor one of
 * the `redirected` keys (the redirects the deploy stores). In an app with a server, such a page
 * is rendered on request (a route left out of the prerender): the directory alone is a partial
 * site. Links to other sites, outside Vite's `base`, or to other schemes (mailto:) are not the
 * site's; links to files that are not pages (`/feed.xml`, `/download/app.zip`: a file type the
 * deploy's content-type lookup knows, other than HTML) or under `/.well-known/` are a server's or
 * a host's business, not a page. An extension of no known type (`/docs/v1.2`) is a page.
 */
export async function missingPage(dir: string, base: string, redirected: Iterable<string> = []): Promise<MissingPage | undefined> {
  const files = new Set<string>(redirected)
  const pages: string[] = []
  for (const dirent of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!dirent.isFile()) continue
    const path = toPosix(relative(dir, join(dirent.parentPath, dirent.name)))
    files.add(path)
    if (isHtml(path)) pages.push(path)
  }
  const held = (path: string) => urlFiles(path).some((file) => files.has(file))
  // A relative base ('./') is served from wherever the site is: links from the root are the site's.
  const root = new URL(/^([a-z][a-z\d+.-]*:)?\/\//i.test(base) || base.startsWith('/') ? base : '/', 'http://site.invalid/')
  const { Parser } = await import('htmlparser2')
  for (const page of pages) {
    const hrefs: string[] = []
    let baseHref: string | undefined
    const parser = new Parser({
      onopentag(name, attributes) {
        if (name === 'a' && attributes.href) hrefs.push(attributes.href)
        else if (name === 'base' && attributes.href) baseHref ??= attributes.href
      },
    })
    parser.end(readFileSync(join(dir, page), 'utf8'))
    for (const href of hrefs) {
      let url: URL
      let path: string
      try {
        url = new URL(href, new URL(baseHref ?? '.', new URL(page, root)))
        if (url.origin !== root.origin || !url.pathname.startsWith(root.pathname) || url.pathname.startsWith('/.well-known/')) continue
        path = decodeURIComponent(url.pathname.slice(root.pathname.length))
      } catch {
        continue // not a URL a browser would follow
      }
      if (looksLikePage(path) && !held(path)) return { page, link: url.pathname }
    }
  }
  return undefined
}
