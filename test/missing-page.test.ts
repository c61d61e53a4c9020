// missingPage: in an app with a server, a link of the published pages to a page the directory
// does not hold means the server renders it on request, and the directory is a partial site.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { missingPage } from '../src/site/pages.js'

const temp: string[] = []
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true })
})

/** A directory holding `files` (path → content). */
function site(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'collectfasta-links-'))
  temp.push(dir)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  return dir
}

const page = (...hrefs: string[]) => `<!doctype html><html><body>${hrefs.map((href) => `<a href="${href}">x</a>`).join('')}</body></html>`

describe('missingPage', () => {
  it('finds the first link to a page of the site the directory does not hold', async () => {
    const dir = site({ 'index.html': page('/', '/robots.txt', '/about'), 'robots.txt': 'User-agent: *\n' })
    expect(await missingPage(dir, '/')).toEqual({ page: 'index.html', link: '/about' })
  })

  it('a page as about/index.html, about.html, a trailing slash, a file, a relative path, a query or a fragment is held', async () => {
    const dir = site({
      'index.html': page('/about', '/about/', 'docs', './docs?x=1#top', '#top', '/feed.xml', '/a%20b'),
      'about/index.html': page('../', '..', 'team/'),
      'about/team/index.html': page('/'),
      'docs.html': page('/about/team'),
      'feed.xml': '<rss/>',
      'a b.html': page('/'),
    })
    expect(await missingPage(dir, '/')).toBeUndefined()
  })

  it('ignores links that are not the site: other origins, other schemes, outside Vite\'s base', async () => {
    const dir = site({ 'index.html': page('https://example.com/x', '//cdn.example.com/y', 'mailto:a@b.c', 'javascript:void(0)', 'tel:1', '/other-app/') })
    expect(await missingPage(dir, '/app/')).toBeUndefined()
    // The same links, and one inside the base that is missing.
    const based = site({ 'index.html': page('/other-app/', '/app/', '/app/gone') })
    expect(await missingPage(based, '/app/')).toEqual({ page: 'index.html', link: '/app/gone' })
  })

  it('resolves a relative link against the page and its <base href>', async () => {
    const dir = site({ 'blog/index.html': '<html><head><base href="/docs/"></head><body><a href="intro">x</a></body></html>', 'docs/intro.html': page('/blog/') })
    expect(await missingPage(dir, '/')).toBeUndefined()
    const nested = site({ 'blog/index.html': page('post') })
    expect(await missingPage(nested, './')).toEqual({ page: 'blog/index.html', link: '/blog/post' })
  })

  it('counts only links that look like pages: files of other kinds and /.well-known/ are not pages', async () => {
    const dir = site({ 'index.html': page('/feed.xml', '/download/app.zip', '/.well-known/x', '/img/logo.svg', 'report.pdf?v=2') })
    expect(await missingPage(dir, '/')).toBeUndefined()
    // A query is not part of the page's path: /login is a page, and it is missing.
    const login = site({ 'index.html': page('/feed.xml', '/login?next=/') })
    expect(await missingPage(login, '/')).toEqual({ page: 'index.html', link: '/login' })
    for (const href of ['/blog/', '/docs.html', '/guide.htm', '/about']) expect((await missingPage(site({ 'index.html': page(href) }), '/'))?.link, href).toBe(href)
  })

  it('a dot in the last segment is a page unless the content-type lookup knows the extension as a file type', async () => {
    for (const href of ['/docs/v1.2', '/users/jane.doe', '/release/2.0.1', '/about.HTML']) expect((await missingPage(site({ 'index.html': page(href) }), '/'))?.link, href).toBe(href)
    expect(await missingPage(site({ 'index.html': page('/docs/v1.2'), 'docs/v1.2/index.html': page('/') }), '/')).toBeUndefined()
    expect(await missingPage(site({ 'index.html': page('/data.json', '/notes.txt', '/a.webmanifest', '/users/jane.doe') }), '/')).toEqual({ page: 'index.html', link: '/users/jane.doe' })
  })

  it('a link to a redirect the deploy stores is held', async () => {
    const dir = site({ 'index.html': page('/old-pricing', '/moved/', '/gone') })
    expect(await missingPage(dir, '/', ['old-pricing', 'moved/index.html'])).toEqual({ page: 'index.html', link: '/gone' })
    expect(await missingPage(dir, '/', ['old-pricing', 'moved/index.html', 'gone'])).toBeUndefined()
  })
})
