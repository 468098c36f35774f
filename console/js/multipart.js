// STOW-RS request bodies: multipart/related; type="application/dicom" (PS3.18 8.6), built in the browser
// from File objects. The boundary is 24 random bytes in hex: PS3.18 leaves it to the sender, and the chance
// that it occurs inside a file's bytes is negligible.

function randomBoundary() {
  const b = new Uint8Array(24);
  crypto.getRandomValues(b);
  return "dicomveil-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** {body: Blob, contentType} for the given File/Blob list (the Blob references the files, no copy). */
export function stowBody(files) {
  const boundary = randomBoundary();
  const parts = [];
  for (const f of files) {
    parts.push(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
    parts.push(f);
    parts.push("\r\n");
  }
  parts.push(`--${boundary}--\r\n`);
  return {
    body: new Blob(parts),
    contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
  };
}
