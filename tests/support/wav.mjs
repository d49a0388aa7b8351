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

/** `seconds` of a PCM WAV from `from` s on, as a new WAV (the fmt chunk kept, others dropped). */
export function cutWav(buf, from, seconds) {
  let at = 12;
  let fmt = null;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') fmt = buf.subarray(at + 8, at + 8 + size);
    if (id === 'data' && fmt) {
      const frame = fmt.readUInt16LE(12);
      const rate = fmt.readUInt32LE(4);
      const pcm = buf.subarray(at + 8 + from * rate * frame, at + 8 + (from + seconds) * rate * frame);
      const head = Buffer.alloc(20);
      head.write('RIFF', 0); head.writeUInt32LE(4 + 8 + fmt.length + 8 + pcm.length, 4); head.write('WAVE', 8);
      head.write('fmt ', 12); head.writeUInt32LE(fmt.length, 16);
      const dataHead = Buffer.alloc(8);
      dataHead.write('data', 0); dataHead.writeUInt32LE(pcm.length, 4);
      return Buffer.concat([head, fmt, dataHead, pcm]);
    }
    at += 8 + size + (size % 2);
  }
  throw new Error('not a PCM WAV');
}
