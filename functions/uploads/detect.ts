// What an upload is, decided by its bytes and never by its name or declared Content-Type.
// Binary formats come from `file-type` (magic numbers with structural checks: the tar header
// checksum, a gzip stream that inflates to a tar for tar.gz, the zip local-file header); plain
// text has no magic, so it is accepted only when every byte of the stream is valid UTF-8 with
// no NUL or other binary control bytes — checked incrementally while the upload streams.
// file-type (and what it pulls in) loads with the first upload, not at process start.
let fileType: Promise<typeof import('file-type')> | undefined;
const loadFileType = () => (fileType ??= import('file-type'));

export const UPLOAD_KINDS = ['pdf', 'text', 'tar', 'tar.gz', 'zip'] as const;
export type UploadKind = (typeof UPLOAD_KINDS)[number];

export const KIND_MIME: Record<UploadKind, string> = {
  pdf: 'application/pdf',
  text: 'text/plain; charset=utf-8',
  tar: 'application/x-tar',
  'tar.gz': 'application/gzip',
  zip: 'application/zip',
};

/** Bytes collected before deciding the type (file-type's gzip probe inflates from these). */
export const DETECT_BYTES = 64 * 1024;

export type Detection = { kind: UploadKind } | { kind: undefined; detected: string };

/**
 * The kind of an upload from its first bytes (`head`, at most DETECT_BYTES; all of it when the
 * upload is shorter). `text` here is provisional: the caller must run a TextValidator over the
 * whole stream.
 */
export async function detectKind(head: Uint8Array): Promise<Detection> {
  if (head.byteLength === 0) return { kind: undefined, detected: 'empty' };
  const { fileTypeFromBuffer } = await loadFileType();
  const ft = await fileTypeFromBuffer(head).catch(() => undefined);
  if (ft) {
    switch (ft.ext) {
      case 'pdf':
        return { kind: 'pdf' };
      case 'tar':
        return { kind: 'tar' };
      case 'tar.gz':
        return { kind: 'tar.gz' };
      case 'zip':
        return { kind: 'zip' };
    }
  }
  // Text-based formats file-type knows (XML, iCalendar, ...) are still text. A multi-byte
  // character cut at the end of the head is fine here; the full check runs while streaming.
  if (new TextValidator().push(head)) return { kind: 'text' };
  return { kind: undefined, detected: ft?.mime ?? 'binary data' };
}

/**
 * Streaming check that a byte sequence is UTF-8 text: well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF) and no C0 control bytes other than TAB, LF, FF, CR and
 * ESC. Chunks may split a character anywhere; call end() after the last chunk.
 */
export class TextValidator {
  private need = 0; // continuation bytes still expected
  private lower = 0x80; // bounds for the next continuation byte
  private upper = 0xbf;

  push(chunk: Uint8Array): boolean {
    let { need, lower, upper } = this;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (need === 0) {
        if (b < 0x80) {
          if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return false;
          if (b === 0x7f) return false;
          continue;
        }
        if (b >= 0xc2 && b <= 0xdf) need = 1;
        else if (b >= 0xe0 && b <= 0xef) {
          need = 2;
          if (b === 0xe0) lower = 0xa0;
          if (b === 0xed) upper = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3;
          if (b === 0xf0) lower = 0x90;
          if (b === 0xf4) upper = 0x8f;
        } else return false;
        continue;
      }
      if (b < lower || b > upper) return false;
      lower = 0x80;
      upper = 0xbf;
      need--;
    }
    this.need = need;
    this.lower = lower;
    this.upper = upper;
    return true;
  }

  /** True when the stream did not end inside a character. */
  end(): boolean {
    return this.need === 0;
  }
}
