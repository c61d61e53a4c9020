import { Parser } from 'htmlparser2'
import { describe, expect, it } from 'vitest'
import { readPlainXml, readXmlWith } from '../src/strategies/s3-xml.js'

const REPEATED = ['Contents', 'Deleted', 'Error']
const both = (xml: string) => ({ plain: readPlainXml(xml, REPEATED), parsed: readXmlWith(Parser, Buffer.from(xml), REPEATED) })

const listing = (keys: string[], more = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${more}${keys
    .map((k, i) => `<Contents>\n  <Key>${k}</Key><LastModified>2026-12-07T10:00:00.000Z</LastModified><ETag>&quot;${i.toString(16).padStart(32, '0')}&quot;</ETag><Size>${i}</Size><Owner><ID>x</ID></Owner><StorageClass>STANDARD</StorageClass></Contents>`)
    .join('\n')}</ListBucketResult>`

describe('the plain S3 XML reader', () => {
  // What S3 and the local servers write: the plain reader reads it, and reads it as htmlparser2 does.
  const plain = [
    listing(['a.js', 'b c.html', 'x/y+z%20.css']),
    listing(['t&amp;s.js', 'lt&lt;gt&gt;', 'apos&apos;q&quot;', 'cr&#13;lf&#x0A;', 'e&#xE9;&#233;', 'emoji&#x1F600;', ' spaces  ']),
    listing(Array.from({ length: 1000 }, (_, i) => `assets/chunk-${i}.js`), '<NextContinuationToken>tok=</NextContinuationToken><EncodingType>url</EncodingType>'),
    '<ListBucketResult xmlns="x"><IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size/></Contents></ListBucketResult>\n',
    "<DeleteResult xmlns='a>b'><Deleted><Key>k</Key></Deleted><Error><Key>e</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>",
    '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
    '\uFEFF<?xml version="1.0"?><CompleteMultipartUploadResult><ETag>"e-2"</ETag></CompleteMultipartUploadResult>',
  ]
  it.each(plain.map((xml, i) => [i, xml]))('document %i: read, as htmlparser2 reads it', (_, xml) => {
    const { plain, parsed } = both(xml)
    expect(plain).toBeDefined()
    expect(plain).toEqual(parsed)
  })

  // Anything else is left to htmlparser2 (which then decides, e.g. that a body cut short is not whole).
  const others = [
    listing(['a']).slice(0, -10), // cut short
    listing(['a']).replace('</Name>', '</Nam>'), // a tag closed by another name
    listing(['<![CDATA[x]]>']),
    listing(['a<!-- c -->b']),
    listing(['&nbsp;']),
    listing(['&amp']),
    listing(['&#0;', '&#x80;', '&#xD800;']),
    listing(['a']).replace('<Name>b</Name>', '<Name b'), // a start tag that never ends
    '<Error/>',
    '<Error></Error><Error></Error>',
    'text<Error></Error>',
    '<Error></Error>trailing',
    '<Ünïcode></Ünïcode>',
  ]
  it.each(others.map((xml, i) => [i, xml]))('document %i is left to htmlparser2', (_, xml) => {
    expect(readPlainXml(xml, REPEATED)).toBeUndefined()
  })
})
