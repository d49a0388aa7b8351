// Test audio synthesised in code, shared by the Node binding tests and the browser e2e test.

/** A short mono 16-bit WAV: a tone at `hz` with clicks every `60/bpm` s (two audible styles). */
export function wav(hz, bpm, seed, seconds = 3, rate = 22050) {
  const n = seconds * rate;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write("RIFF", 0); buf.writeUInt32LE(36 + 2 * n, 4); buf.write("WAVEfmt ", 8);
  buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(2 * rate, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write("data", 36); buf.writeUInt32LE(2 * n, 40);
  const beat = Math.round((60 / bpm) * rate);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const click = i % beat < 200 ? ((s / 0x7fffffff) * 2 - 1) * 0.6 : 0;
    const v = 0.3 * Math.sin((2 * Math.PI * hz * i) / rate) + click;
    buf.writeInt16LE(Math.max(-32767, Math.min(32767, Math.round(v * 32767))), 44 + 2 * i);
  }
  return buf;
}
