/**
 * The two levels of an S3 answer the strategy reads (S3's documents go no deeper for what is
 * read here): a plain reader for the XML S3 writes, and htmlparser2 for anything else.
 */
export interface XmlDocument {
  /** The root element's name. */
  root: string
  /** The text of the root's child elements (the last one of a name). */
  fields: Record<string, string>
  /** Each child of the root named in `repeated`, as the text of its own child elements. */
  items: { name: string; fields: Record<string, string> }[]
  /** Whether the root element was closed by its own end tag: a body cut short is not. */
  whole: boolean
}

type Parser = typeof import('htmlparser2').Parser

/** What the document's events build: the same for both readers. */
function builder(repeated: readonly string[]) {
  const doc: XmlDocument = { root: '', fields: Object.create(null), items: [], whole: false }
  let item: XmlDocument['items'][number] | undefined
  let depth = 0
  let text = ''
  return {
    doc,
    open(name: string) {
      depth++
      text = ''
      if (depth === 1) doc.root = name
      else if (depth === 2 && repeated.includes(name)) item = { name, fields: Object.create(null) }
    },
    text(chunk: string) {
      text += chunk
    },
    close(name: string, implied: boolean) {
      if (depth === 1) doc.whole = !implied
      else if (depth === 2 && item && name === item.name) {
        doc.items.push(item)
        item = undefined
      } else if (depth === 2) doc.fields[name] = text
      else if (depth === 3 && item) item.fields[name] = text
      depth--
      text = ''
    },
  }
}

/**
 * Reads a document with htmlparser2 in XML mode: entities and character references decoded,
 * whitespace kept (a key may end in a space), about 8 times less CPU than a full object tree.
 */
export function readXmlWith(Parser: Parser, body: Buffer, repeated: readonly string[]): XmlDocument {
  const build = builder(repeated)
  const parser = new Parser({ onopentag: build.open, ontext: build.text, onclosetag: build.close }, { xmlMode: true, decodeEntities: true })
  parser.end(body.toString('utf8'))
  return build.doc
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
/** An element's name as S3 writes them (ASCII letters, digits, `_.:-`); anything else goes to htmlparser2. */
const isNameStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 58) || c === 45 || c === 46
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13
/** The rest of a start tag: attributes in quotes (they may hold `>`), then `>` or `/>`. */
const TAG_REST = /(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*\s*(\/?)>/y
const PROLOG = /^\uFEFF?<\?xml(?:\s[^<>?]*)?\?>/

/** Text with the five entities and character references decoded; `undefined`: one htmlparser2 must read. */
function decodeText(raw: string): string | undefined {
  if (!raw.includes('&')) return raw
  let out = ''
  let at = 0
  for (let amp = raw.indexOf('&'); amp >= 0; amp = raw.indexOf('&', at)) {
    const end = raw.indexOf(';', amp)
    if (end < 0 || end - amp > 10) return undefined
    const name = raw.slice(amp + 1, end)
    let char = NAMED[name]
    if (char === undefined) {
      const code = /^#x[0-9a-fA-F]{1,6}$/.test(name) ? Number.parseInt(name.slice(2), 16) : /^#[0-9]{1,7}$/.test(name) ? Number(name.slice(1)) : Number.NaN
      // What htmlparser2 replaces (NUL, the C1 range, surrogates, past Unicode) is left to it.
      if (!(code > 0 && code < 0x80) && !(code > 0x9f && code < 0xd800) && !(code > 0xdfff && code <= 0x10ffff)) return undefined
      char = String.fromCodePoint(code)
    }
    out += raw.slice(at, amp) + char
    at = end + 1
  }
  return out + raw.slice(at)
}

/**
 * Reads the plain XML that S3 writes (a prolog, elements with quoted attributes, text with the
 * five entities and character references), about ten times faster than htmlparser2. Returns
 * `undefined` for anything else (comments, CDATA, other entities, a tag left open, a body cut
 * short): htmlparser2 then reads it, so both give the same document.
 */
export function readPlainXml(source: string, repeated: readonly string[]): XmlDocument | undefined {
  const build = builder(repeated)
  const open: string[] = []
  let rootClosed = false
  let at = PROLOG.exec(source)?.[0].length ?? 0
  while (at < source.length) {
    const lt = source.indexOf('<', at)
    const textEnd = lt < 0 ? source.length : lt
    if (textEnd > at) {
      const text = decodeText(source.slice(at, textEnd))
      if (text === undefined) return undefined
      if (open.length === 0 && text.trim() !== '') return undefined
      build.text(text)
    }
    if (lt < 0) break
    if (source.charCodeAt(lt + 1) === 47 /* / */) {
      // </Name>: compared in place with the element it must close.
      const name = open.pop()
      if (name === undefined || !source.startsWith(name, lt + 2)) return undefined
      let gt = lt + 2 + name.length
      while (isSpace(source.charCodeAt(gt))) gt++
      if (source.charCodeAt(gt) !== 62 /* > */) return undefined
      build.close(name, false)
      if (open.length === 0) rootClosed = true
      at = gt + 1
      continue
    }
    let end = lt + 1
    if (!isNameStart(source.charCodeAt(end))) return undefined
    while (isNameChar(source.charCodeAt(end))) end++
    if (open.length === 0 && rootClosed) return undefined
    const name = source.slice(lt + 1, end)
    let selfClosing: boolean
    if (source.charCodeAt(end) === 62 /* > */) {
      selfClosing = false
      at = end + 1
    } else {
      TAG_REST.lastIndex = end
      const tail = TAG_REST.exec(source)
      if (!tail) return undefined
      selfClosing = tail[1] === '/'
      at = TAG_REST.lastIndex
    }
    build.open(name)
    if (selfClosing) {
      // <Name/>: htmlparser2 closes it as implied; the root never is (the document is not whole).
      if (open.length === 0) return undefined
      build.close(name, true)
    } else open.push(name)
  }
  return open.length === 0 && rootClosed ? build.doc : undefined
}
