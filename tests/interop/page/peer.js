// Tincan interop browser peer (see ../README.md).
//
// Speaks the project's signaling protocol (/work/shared/SIGNALING.md) and file-transfer
// protocol (FILE_TRANSFER.md) so that tests can pair a real browser with any other peer.
// The mode and its parameters come from the query string; progress events go to POST /log
// and the final result to POST /result on the origin that served this page (chromium.py).
// No frameworks, no network but the signaling server and the origin.
'use strict';

const Q = new URLSearchParams(location.search);
const MODE = Q.get('mode') || 'echo-server';
const SIGNAL = Q.get('signal') || '';

function param(name, fallback) {
  const v = Q.get(name);
  return v === null || v === '' ? fallback : v;
}
function intParam(name, fallback) {
  const v = Q.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`bad ${name}=${v}`);
  return n;
}

// ---------------------------------------------------------------- reporting

const T_LOAD = performance.now();
const now = () => performance.now();
const round3 = (x) => Math.round(x * 1000) / 1000;
let postChain = Promise.resolve();

// POSTs are chained so that the harness sees events in order and the result last.
function post(path, obj) {
  const body = JSON.stringify(obj);
  postChain = postChain.then(() => fetch(path, {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body,
  }).catch(() => {}));
  return postChain;
}

function emit(event, fields) {
  const ev = Object.assign({event}, fields || {}, {t_ms: round3(now())});
  post('/log', ev);
  return ev;
}

let finished = false;
let finishing = false;  // a result is on its way (see finishWithPair): late failures are moot
function finish(result) {
  if (finished) return;
  finished = true;
  const res = Object.assign({event: 'result', mode: MODE}, result, {t_ms: round3(now())});
  const el = document.getElementById('log');
  if (el) el.textContent += JSON.stringify(res) + '\n';
  post('/result', res);
}
function fail(error, extra) {
  emit('error', {error: String(error)});
  if (finishing) return;
  finish(Object.assign({ok: false, error: String(error)}, extra || {}));
}
// finish() with the selected candidate pair from getStats(). Marks the result as decided
// first, so that the remote hanging up while getStats() runs cannot turn it into a failure.
async function finishWithPair(session, result) {
  if (finished || finishing) return;
  finishing = true;
  result.selected_pair = await session.selectedPair();
  if (session.pc) {
    // What negotiation made of every m-section (av=1: the media ones Tincan rejected).
    result.transceivers = session.pc.getTransceivers().map((t) => ({
      mid: t.mid, kind: t.receiver.track.kind, direction: t.direction, current: t.currentDirection,
      stopped: t.currentDirection === 'stopped' || t.direction === 'stopped',
    }));
    const sdp = session.pc.currentRemoteDescription ? session.pc.currentRemoteDescription.sdp : '';
    result.remote_mlines = sdp.split(/\r?\n/).filter((l) => l.startsWith('m='));
  }
  finish(result);
}
const errText = (e) => (e && e.message) ? `${e.name || 'Error'}: ${e.message}` : String(e);

window.addEventListener('error', (e) => fail(`uncaught: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => fail(`unhandled rejection: ${errText(e.reason)}`));

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stats(values) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return {n: s.length, min: round3(s[0]), median: round3(median), p90: round3(q(0.9)), max: round3(s[s.length - 1])};
}

// Deterministic file content ("tincan pattern v1"), the same in aiortc_peer.py/common.py
// and easy in C++: the file is a stream of little-endian 32-bit words; word i is
// lowbias32((seed * 0x9E3779B9 + i) mod 2^32), where lowbias32(x) is
//   x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16  (mod 2^32).
// Counter-based, so any offset can be produced without the bytes before it.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('big-endian host');
function fillPattern(u32, seed, firstWord) {
  const base = (Math.imul(seed >>> 0, 0x9E3779B9) + firstWord) >>> 0;
  for (let i = 0; i < u32.length; i++) {
    let x = (base + i) >>> 0;
    x ^= x >>> 16; x = Math.imul(x, 0x7feb352d);
    x ^= x >>> 15; x = Math.imul(x, 0x846ca68b);
    x ^= x >>> 16;
    u32[i] = x;
  }
}
function makePattern(size, seed) {
  const buf = new ArrayBuffer(Math.ceil(size / 4) * 4);
  fillPattern(new Uint32Array(buf), seed, 0);
  return new Uint8Array(buf, 0, size);
}

// Text of exactly `size` UTF-8 bytes, with 2-, 3- and 4-byte characters, quotes, a backslash
// and a newline in it, so that the other side's text path is exercised, not just ASCII.
const TEXT_UNITS = ['T', 'i', 'n', 'c', 'a', 'n', ' ', 'é', '€', '😀', '\n', '"', '\\', 'ß', '—', '0', '9', '{', '}'];
const TEXT_UNIT_BYTES = TEXT_UNITS.map((u) => new TextEncoder().encode(u).length);
function makeText(size, seed) {
  const parts = [];
  let bytes = 0;
  let k = seed;
  while (bytes < size) {
    let j = k++ % TEXT_UNITS.length;
    if (bytes + TEXT_UNIT_BYTES[j] > size) j = 0;  // 'T': one byte
    parts.push(TEXT_UNITS[j]);
    bytes += TEXT_UNIT_BYTES[j];
  }
  return parts.join('');
}
const utf8Length = (s) => new TextEncoder().encode(s).length;

function hex(buf) {
  const b = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}
async function sha256(u8) { return hex(await crypto.subtle.digest('SHA-256', u8)); }

function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer || a, a.byteOffset || 0, a.byteLength);
  const y = new Uint8Array(b.buffer || b, b.byteOffset || 0, b.byteLength);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

// "candidate:F C udp P ADDR PORT typ T ..." -> the fields tincan-cli prints for a candidate.
function parseCandidate(line) {
  const bits = String(line || '').replace(/^a=/, '').replace(/^candidate:/, '').split(/\s+/);
  const c = {type: bits[7], protocol: (bits[2] || '').toLowerCase(), address: bits[4],
    port: Number(bits[5]), priority: Number(bits[3])};
  const i = bits.indexOf('tcptype');
  if (i > 0) c.tcpType = bits[i + 1];
  return c;
}

// a=max-message-size of an SDP (RFC 8841): absent means 64 KiB, 0 means no limit.
function maxMessageSize(sdp) {
  const m = /^a=max-message-size:(\d+)/m.exec(sdp || '');
  if (!m) return 65536;
  const n = Number(m[1]);
  return n === 0 ? Number.MAX_SAFE_INTEGER : n;
}

// Waits until the channel's bufferedAmount is at most `high`; rejects if it closes.
function drain(ch, high) {
  if (ch.bufferedAmount <= high) return Promise.resolve();
  if (ch.readyState !== 'open') return Promise.reject(new Error(`channel ${ch.label} ${ch.readyState}`));
  return new Promise((resolve, reject) => {
    const done = () => { ch.removeEventListener('bufferedamountlow', onLow); ch.removeEventListener('close', onClose); };
    const onLow = () => { done(); resolve(); };
    const onClose = () => { done(); reject(new Error(`channel ${ch.label} closed while sending`)); };
    ch.addEventListener('bufferedamountlow', onLow);
    ch.addEventListener('close', onClose);
  });
}

function waitOpen(ch) {
  if (ch.readyState === 'open') return Promise.resolve(ch);
  return new Promise((resolve, reject) => {
    ch.addEventListener('open', () => resolve(ch), {once: true});
    ch.addEventListener('close', () => reject(new Error(`channel ${ch.label} closed before opening`)), {once: true});
  });
}

// Queue of a channel's incoming messages, for request/response steps.
class Inbox {
  constructor(ch) {
    this.ch = ch; this.items = []; this.waiters = []; this.closed = false;
    ch.binaryType = 'arraybuffer';
    ch.addEventListener('message', (e) => this.push({data: e.data}));
    ch.addEventListener('close', () => { this.closed = true; this.push({closed: true}); });
  }
  push(item) {
    const w = this.waiters.shift();
    if (w) w(item); else this.items.push(item);
  }
  // Resolves with the next message's data; rejects on close or after timeoutMs.
  next(timeoutMs) {
    const take = (item) => {
      if (item.closed) throw new Error(`channel ${this.ch.label} closed`);
      return item.data;
    };
    if (this.items.length) {
      const item = this.items.shift();
      if (item.closed) this.items.unshift(item);  // stays closed for later calls
      return Promise.resolve(item).then(take);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no message on ${this.ch.label} within ${timeoutMs} ms`));
      }, timeoutMs);
      const w = (item) => {
        clearTimeout(t);
        if (item.closed) this.items.unshift(item);
        try { resolve(take(item)); } catch (e) { reject(e); }
      };
      this.waiters.push(w);
    });
  }
}
async function nextJson(inbox, timeoutMs) {
  const data = await inbox.next(timeoutMs);
  if (typeof data !== 'string') throw new Error(`expected a JSON text message, got ${data.byteLength} binary bytes`);
  return JSON.parse(data);
}

// ---------------------------------------------------------------- the signaling session

// A placeholder channel that only puts an m=application section in an offer: a newcomer in a
// passive mode (echo-server, receive) has no channel of its own, yet must offer one.
// negotiated:true means no DCEP message: the remote never sees it. Never used, never closed.
const PLACEHOLDER_ID = 1023;

function iceServers() {
  const servers = [];
  for (const url of param('stun', '').split(',').filter(Boolean)) servers.push({urls: url});
  const turns = param('turn', '').split(',').filter(Boolean);
  if (turns.length) servers.push({urls: turns, username: param('turn_user', ''), credential: param('turn_pass', '')});
  return servers;
}

class Session {
  // hooks: onReady(session, newcomer) when channels may be created; onRemoteChannel(ch);
  //        onRemoteGone(reason) on bye/peer-left/socket close; onFailed(reason).
  constructor(url, hooks) {
    this.url = url; this.hooks = hooks;
    this.pc = null; this.ws = null;
    this.newcomer = false; this.polite = false;
    this.makingOffer = false; this.ignoreOffer = false;
    this.pending = [];              // remote candidates received before the remote description
    this.ready = false; this.closed = false; this.gone = false;
    this.sentEnd = false; this.ownChannels = 0;
    this.times = {};                // ms since page load of milestones
    this.queue = Promise.resolve();
    this.hooked = new Set();
  }

  mark(name) { if (!(name in this.times)) this.times[name] = round3(now()); }

  start() {
    this.mark('ws-connect');
    const ws = this.ws = new WebSocket(this.url);
    ws.onopen = () => this.mark('ws-open');
    ws.onmessage = (e) => {
      // One signaling message at a time: descriptions and candidates stay in order.
      this.queue = this.queue.then(() => this.onSignal(e.data))
        .catch((err) => this.failed(`signaling: ${errText(err)}`));
    };
    ws.onerror = () => emit('signaling', {state: 'socket-error'});
    ws.onclose = (e) => {
      emit('signaling', {state: 'socket-closed', code: e.code});
      if (!this.closed) this.remoteGone('signaling socket closed');
    };
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  failed(reason) {
    if (this.closed) return;
    emit('error', {error: reason});
    if (this.hooks.onFailed) this.hooks.onFailed(reason); else fail(reason);
  }

  remoteGone(reason) {
    if (this.gone) return;
    this.gone = true;
    if (this.hooks.onRemoteGone) this.hooks.onRemoteGone(reason);
  }

  // Hang up: `bye` (SIGNALING.md), then close everything.
  hangup(sayBye = true) {
    if (this.closed) return;
    this.closed = true;
    if (sayBye) this.send({type: 'bye'});
    try { if (this.pc) this.pc.close(); } catch (e) { /* closing anyway */ }
    try { if (this.ws) this.ws.close(1000); } catch (e) { /* closing anyway */ }
  }

  createChannel(label, options) {
    this.ownChannels++;
    const ch = this.pc.createDataChannel(label, Object.assign({ordered: true, protocol: ''}, options || {}));
    ch.binaryType = 'arraybuffer';
    this.watchChannel(ch);
    return ch;
  }

  watchChannel(ch) {
    ch.addEventListener('open', () => {
      this.mark('datachannel-open');
      emit('datachannel-open', {label: ch.label, id: ch.id});
    });
    ch.addEventListener('close', () => emit('datachannel-close', {label: ch.label, id: ch.id}));
  }

  createPeerConnection() {
    const config = {iceServers: iceServers()};
    if (param('policy', 'all') === 'relay') config.iceTransportPolicy = 'relay';
    const pc = this.pc = new RTCPeerConnection(config);
    // av=1: an audio and a video transceiver come before the data channel, so that an offer
    // from this page carries audio + video + data (as a browser call does).
    if (param('av', '0') === '1') {
      pc.addTransceiver('audio', {direction: 'sendrecv'});
      pc.addTransceiver('video', {direction: 'sendrecv'});
    }
    pc.onicecandidate = ({candidate}) => {
      if (!candidate || !candidate.candidate) {
        // End of candidates: {"type":"candidate","candidate":null}.
        if (!this.sentEnd) {
          this.sentEnd = true;
          this.mark('gathering-complete');
          this.send({type: 'candidate', candidate: null});
        }
        return;
      }
      emit('local-candidate', parseCandidate(candidate.candidate));
      // The W3C RTCIceCandidateInit, unchanged: candidate, sdpMid, sdpMLineIndex, usernameFragment.
      this.send({type: 'candidate', candidate: candidate.toJSON()});
    };
    pc.onicegatheringstatechange = () => emit('gathering-state', {state: pc.iceGatheringState});
    pc.oniceconnectionstatechange = () => {
      emit('ice-state', {state: pc.iceConnectionState});
      if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') this.mark('ice-connected');
    };
    pc.onconnectionstatechange = () => {
      emit('connection-state', {state: pc.connectionState});
      if (pc.connectionState === 'connected') this.mark('connected');
      if (pc.connectionState === 'failed') this.failed('peer connection failed (ICE or DTLS)');
    };
    pc.onnegotiationneeded = () => this.negotiate();
    if (this.hooks.onPeerConnection) this.hooks.onPeerConnection(this);
    pc.ondatachannel = (e) => {
      const ch = e.channel;
      ch.binaryType = 'arraybuffer';
      emit('datachannel', {label: ch.label, id: ch.id, ordered: ch.ordered, protocol: ch.protocol});
      this.watchChannel(ch);
      if (ch.readyState === 'open') { this.mark('datachannel-open'); emit('datachannel-open', {label: ch.label, id: ch.id}); }
      if (this.hooks.onRemoteChannel) this.hooks.onRemoteChannel(ch);
    };
  }

  // DTLS state and the selected pair, once the transports exist.
  hookTransports() {
    if (!this.pc) return;
    // The SCTP transport's DTLS transport, or (a media-only call) the bundle's, from a receiver.
    const rtp = this.pc.getReceivers().map((r) => r.transport).find(Boolean);
    const dtls = (this.pc.sctp && this.pc.sctp.transport) || rtp;
    if (!dtls || this.hooked.has(dtls)) return;
    this.hooked.add(dtls);
    dtls.addEventListener('statechange', () => {
      emit('dtls-state', {state: dtls.state});
      if (dtls.state === 'connected') this.mark('dtls-connected');
    });
    const ice = dtls.iceTransport;
    ice.addEventListener('selectedcandidatepairchange', () => {
      const pair = ice.getSelectedCandidatePair();
      if (!pair) return;
      const c = (x) => ({type: x.type, protocol: x.protocol, address: x.address, port: x.port});
      emit('selected-pair', {local: c(pair.local), remote: c(pair.remote)});
    });
  }

  async negotiate() {
    if (this.closed) return;
    if (!this.ready) return;  // first in the room: the newcomer offers first (SIGNALING.md)
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.mark('offer-sent');
      this.send({type: this.pc.localDescription.type, sdp: this.pc.localDescription.sdp});
      this.hookTransports();
    } catch (err) {
      emit('error', {error: `negotiation: ${errText(err)}`});
    } finally {
      this.makingOffer = false;
    }
  }

  async onSignal(text) {
    if (this.closed) return;
    let msg;
    try { msg = JSON.parse(text); } catch (e) { emit('signaling', {state: 'unparsable'}); return; }
    switch (msg.type) {
      case 'welcome': {
        this.mark('welcome');
        this.newcomer = msg.peers >= 1;
        this.polite = !this.newcomer;  // the peer first in the room is polite
        emit('signaling', {state: 'joined', peers: msg.peers});
        this.createPeerConnection();
        if (this.newcomer) {
          this.ready = true;
          this.hooks.onReady(this, true);  // not awaited: modes run for the whole session
          // A media call (hooks.placeholder === false) offers its tracks without m=application.
          if (!this.ownChannels && this.hooks.placeholder !== false) {
            this.pc.createDataChannel('placeholder', {negotiated: true, id: PLACEHOLDER_ID});
          }
        }
        break;
      }
      case 'peer-joined':
        this.mark('peer-joined');
        emit('signaling', {state: 'peer-joined'});
        break;
      case 'peer-left':
        emit('signaling', {state: 'peer-left'});
        this.remoteGone('peer-left');
        break;
      case 'bye':
        emit('signaling', {state: 'bye'});
        this.remoteGone('bye');
        break;
      case 'error':
        this.failed(`signaling server: ${msg.reason}`);
        break;
      case 'offer':
      case 'answer':
        await this.onDescription({type: msg.type, sdp: msg.sdp});
        break;
      case 'candidate':
        if (msg.candidate) emit('remote-candidate', parseCandidate(msg.candidate.candidate));
        if (!this.pc || !this.pc.remoteDescription) this.pending.push(msg.candidate);
        else await this.addCandidate(msg.candidate);
        break;
      default:
        break;  // unknown types are ignored (forward compatibility)
    }
  }

  // Perfect negotiation (W3C WebRTC 1.0 example), one message at a time.
  async onDescription(desc) {
    const pc = this.pc;
    const collision = desc.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) { emit('signaling', {state: 'offer-ignored (glare, impolite)'}); return; }
    await pc.setRemoteDescription(desc);  // rolls our offer back on a collision (polite)
    this.mark(desc.type === 'offer' ? 'offer-received' : 'answer-received');
    this.hookTransports();
    while (this.pending.length) await this.addCandidate(this.pending.shift());
    if (desc.type === 'offer') {
      // A media call attaches its tracks to the offered transceivers before it answers.
      if (this.hooks.beforeAnswer) await this.hooks.beforeAnswer(this);
      await pc.setLocalDescription();
      this.send({type: pc.localDescription.type, sdp: pc.localDescription.sdp});
      this.mark('answer-sent');
      this.hookTransports();
      if (!this.ready) {
        this.ready = true;
        this.hooks.onReady(this, false);
      }
    }
  }

  async addCandidate(c) {
    try {
      if (c === null || c === undefined || c.candidate === '') await this.pc.addIceCandidate();  // end of candidates
      else await this.pc.addIceCandidate(c);
    } catch (err) {
      if (!this.ignoreOffer) emit('error', {error: `addIceCandidate: ${errText(err)}`, candidate: c});
    }
  }

  // The selected pair and transport numbers from getStats().
  async selectedPair() {
    try {
      const report = await this.pc.getStats();
      let pair = null;
      report.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId); });
      if (!pair) return null;
      const c = (id) => {
        const s = report.get(id);
        return s && {type: s.candidateType, protocol: s.protocol, address: s.address, port: s.port};
      };
      return {local: c(pair.localCandidateId), remote: c(pair.remoteCandidateId),
        rtt_ms: pair.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null};
    } catch (e) {
      return null;
    }
  }

  limits() {
    return {
      local_max_message_size: maxMessageSize(this.pc.localDescription && this.pc.localDescription.sdp),
      remote_max_message_size: maxMessageSize(this.pc.remoteDescription && this.pc.remoteDescription.sdp),
    };
  }
}

// ---------------------------------------------------------------- modes

const TIMEOUT_S = Number(param('timeout', '120'));

// The remote's bye/peer-left travels over signaling and may overtake its last data-channel
// messages (an ack, an echo): give those 3 s to arrive before calling it a failure.
function failAfterGrace(session, reason) {
  setTimeout(() => {
    if (!finished) fail(reason);
    session.hangup(false);
  }, 3000);
}
const MSG_TIMEOUT_MS = Math.max(1000, TIMEOUT_S * 1000);

// Echo every message on any channel the remote opens, on the same channel, text as text,
// binary as binary. Done (ok) when the remote hangs up.
function echoServer() {
  const st = {channels: 0, messages: 0, text: 0, binary: 0, bytes: 0, errors: []};
  const s = new Session(SIGNAL, {
    onReady() {},
    onRemoteChannel(ch) {
      st.channels++;
      ch.addEventListener('message', (e) => {
        const d = e.data;
        try { ch.send(d); } catch (err) { st.errors.push(errText(err)); emit('error', {error: `echo: ${errText(err)}`}); }
        st.messages++;
        if (typeof d === 'string') { st.text++; st.bytes += utf8Length(d); } else { st.binary++; st.bytes += d.byteLength; }
      });
    },
    async onRemoteGone(reason) {
      await finishWithPair(s, Object.assign({ok: st.errors.length === 0, hangup: reason}, st));
      s.hangup(false);
    },
  });
  s.start();
}

// Opens `channels` channels (labels echo, echo-1, ...) and sends `count` messages, text and
// binary alternately, sizes cycling through `sizes`; waits for each echo and compares it.
function echoClient() {
  const count = intParam('count', 20);
  const sizes = param('sizes', '0,1,2,100,1000,16384,65535,65536,65537,262144').split(',').map(Number);
  const nch = Math.max(1, intParam('channels', 1));
  const label = param('label', 'echo');
  const s = new Session(SIGNAL, {
    async onReady(session) {
      const chans = [];
      for (let k = 0; k < nch; k++) chans.push(session.createChannel(k ? `${label}-${k}` : label));
      try {
        await Promise.all(chans.map(waitOpen));
        const inboxes = chans.map((ch) => new Inbox(ch));
        const lim = session.limits();
        // The echo comes back to us: stay within what both sides accept.
        const limit = Math.min(lim.local_max_message_size, lim.remote_max_message_size);
        const rtts = [], mismatches = [], skipped = [];
        let sent = 0, received = 0, bytes = 0;
        const t0 = now();
        for (let i = 0; i < count; i++) {
          const size = sizes[Math.floor(i / 2) % sizes.length];
          const binary = i % 2 === 1;
          const c = Math.floor(i / 2) % nch;
          if (size > limit) { skipped.push({i, size, kind: binary ? 'binary' : 'text'}); continue; }
          const payload = binary ? makePattern(size, i + 1) : makeText(size, i);
          const t = now();
          chans[c].send(payload);
          sent++;
          const reply = await inboxes[c].next(MSG_TIMEOUT_MS);
          rtts.push(now() - t);
          received++;
          bytes += size;
          const ok = binary ? (typeof reply !== 'string' && sameBytes(reply, payload)) : reply === payload;
          if (!ok) {
            mismatches.push({i, size, kind: binary ? 'binary' : 'text',
              got: typeof reply === 'string' ? `text of ${utf8Length(reply)} bytes` : `binary of ${reply.byteLength} bytes`});
          }
        }
        const seconds = (now() - t0) / 1000;
        await finishWithPair(session, Object.assign({ok: mismatches.length === 0 && received === sent && sent > 0,
          sent, received, mismatches, skipped, bytes, seconds: round3(seconds),
          rtt_ms: stats(rtts), channels: nch}, lim));
      } catch (err) {
        fail(`echo-client: ${errText(err)}`);
      }
      session.hangup();
    },
    onRemoteGone(reason) { failAfterGrace(s, `remote hung up early (${reason})`); },
  });
  s.start();
}

// FILE_TRANSFER.md sender: `count` files of `size` bytes (content: pattern with seed+j),
// one `file` channel each, one after another.
// `corrupt` (refusal tests): extra-bytes | no-header | not-json | bad-sha | bad-size.
function sendFiles() {
  const size = intParam('size', 1 << 20);
  const count = Math.max(1, intParam('count', 1));
  const seed = intParam('seed', 1);
  const chunkParam = intParam('chunk', 65536);
  const high = intParam('high', 4 << 20);
  const low = intParam('low', 1 << 20);
  const corrupt = param('corrupt', '');
  const s = new Session(SIGNAL, {
    async onReady(session) {
      const files = [];
      try {
        for (let j = 0; j < count; j++) {
          const name = param('name', `tincan-${seed + j}.bin`);
          files.push(await sendOne(session, name, size, seed + j));
        }
        const ok = files.every((f) => (corrupt ? f.outcome !== 'acked' : f.outcome === 'acked'));
        await finishWithPair(session, {ok, files, corrupt: corrupt || undefined});
      } catch (err) {
        fail(`send: ${errText(err)}`, {files});
      }
      await sleep(100);  // let the last channel close go out before bye
      session.hangup();
    },
    onRemoteGone(reason) { failAfterGrace(s, `remote hung up (${reason})`); },
  });

  async function sendOne(session, name, size, seed) {
    const ch = session.createChannel('file');  // first: a newcomer's offer carries it
    const inbox = new Inbox(ch);
    const data = makePattern(size, seed);
    const digest = await sha256(data);
    await waitOpen(ch);
    const chunk = Math.min(chunkParam, session.limits().remote_max_message_size);
    ch.bufferedAmountLowThreshold = low;
    const result = {name, size, sha256: digest, seed};
    const t0 = now();
    if (corrupt === 'no-header') ch.send(data.subarray(0, Math.min(size, 1024)));
    else if (corrupt === 'not-json') ch.send('this is not JSON');
    else if (corrupt === 'bad-size') ch.send(JSON.stringify({type: 'file', name, size: -5, mime: 'application/octet-stream'}));
    else ch.send(JSON.stringify({type: 'file', name, size, mime: 'application/octet-stream'}));
    let reply;
    try { reply = await nextJson(inbox, MSG_TIMEOUT_MS); } catch (err) {
      result.outcome = inbox.closed ? 'closed-by-receiver' : `error: ${errText(err)}`;
      return result;
    }
    if (reply.type === 'reject') { result.outcome = 'rejected'; result.reason = reply.reason; ch.close(); return result; }
    if (reply.type !== 'accept') { result.outcome = `unexpected ${reply.type}`; ch.close(); return result; }
    const offset = Number(reply.offset || 0);
    result.offset = offset;
    let lastProgress = now();
    try {
      for (let off = offset; off < size; off += chunk) {
        await drain(ch, high);
        ch.send(data.subarray(off, Math.min(size, off + chunk)));
        if (now() - lastProgress > 500) {
          lastProgress = now();
          emit('transfer-progress', {name, bytes: off, size});
        }
      }
      if (corrupt === 'extra-bytes') ch.send(new Uint8Array(16));
      ch.send(JSON.stringify({type: 'eof', sha256: corrupt === 'bad-sha' ? '0'.repeat(64) : digest}));
      const ack = await nextJson(inbox, MSG_TIMEOUT_MS);
      const seconds = (now() - t0) / 1000;
      result.seconds = round3(seconds);
      result.mbps = round3((size - offset) / 1e6 / seconds);
      result.ack = ack;
      result.outcome = ack.type === 'ack' && ack.ok === true && ack.sha256 === digest ? 'acked' : 'ack-not-ok';
      if (result.outcome === 'acked') emit('transfer-done', {name, bytes: size, sha256: digest, seconds: result.seconds});
    } catch (err) {
      result.outcome = inbox.closed ? 'closed-by-receiver' : `error: ${errText(err)}`;
    }
    ch.close();
    return result;
  }
  s.start();
}

// A receiver's cleaned-up file name (FILE_TRANSFER.md): base name only, no control
// characters, no leading dots, never empty.
function safeName(name) {
  let n = String(name).split(/[\\/]/).pop();
  n = n.replace(/[\u0000-\u001f\u007f]/g, '').replace(/^\.+/, '').trim();
  if (n === '' || n === '..') n = 'file';
  return n;
}

// FILE_TRANSFER.md receiver: accepts `count` files on `file` channels, verifies sha256,
// acks; refuses a size above `maxsize`, malformed headers, non-JSON text, extra bytes.
function receiveFiles() {
  const count = Math.max(1, intParam('count', 1));
  const maxsize = intParam('maxsize', 1 << 30);
  const files = [], errors = [];
  let done = 0;
  const s = new Session(SIGNAL, {
    onReady() {},
    onRemoteChannel(ch) {
      if (ch.label !== 'file') { emit('error', {error: `ignoring channel ${ch.label}`}); return; }
      receiveOne(ch);
    },
    async onRemoteGone(reason) {
      if (done >= count) return;
      finish({ok: false, error: `remote hung up (${reason}) after ${done} of ${count} files`, files, errors});
      s.hangup(false);
    },
  });

  function receiveOne(ch) {
    let header = null, buf = null, got = 0, t0 = 0, over = false, lastProgress = now();
    const refuse = (reason, reply) => {
      over = true;
      errors.push({name: header && header.name, reason});
      emit('transfer-error', {name: header && header.name, reason});
      if (reply) try { ch.send(JSON.stringify({type: 'reject', reason})); } catch (e) { /* closing */ }
      buf = null;
      ch.close();  // nothing is kept
    };
    ch.addEventListener('message', async (e) => {
      if (over) return;
      const d = e.data;
      if (typeof d === 'string') {
        let m;
        try { m = JSON.parse(d); } catch (err) { refuse('non-JSON text message', !header); return; }
        if (!m || typeof m !== 'object') { refuse('malformed message', !header); return; }
        if (!header) {
          if (m.type !== 'file' || typeof m.name !== 'string' || !Number.isSafeInteger(m.size) || m.size < 0) {
            refuse('malformed header', true); return;
          }
          if (m.size > maxsize) { header = m; refuse(`too large: ${m.size} > ${maxsize} bytes`, true); return; }
          header = m;
          buf = new Uint8Array(m.size);
          t0 = now();
          ch.send(JSON.stringify({type: 'accept', offset: 0}));
          return;
        }
        if (m.type !== 'eof') { refuse(`unexpected ${m.type}`); return; }
        over = true;
        const digest = await sha256(buf);
        const ok = got === header.size && typeof m.sha256 === 'string' && m.sha256.toLowerCase() === digest;
        ch.send(JSON.stringify({type: 'ack', ok, sha256: digest}));
        const seconds = (now() - t0) / 1000;
        const info = {name: safeName(header.name), sent_name: header.name, size: header.size, bytes: got,
          sha256: digest, ok, seconds: round3(seconds), mbps: round3(got / 1e6 / seconds)};
        buf = null;
        if (!ok) { errors.push({name: header.name, reason: got !== header.size ? `short: ${got} of ${header.size} bytes` : 'sha256 mismatch'}); return; }
        files.push(info);
        emit('transfer-done', {name: info.name, bytes: got, sha256: digest, seconds: info.seconds});
        if (++done === count) {
          // The sender closes the channel once it has the ack (step 6); give it a moment.
          await Promise.race([new Promise((r) => ch.addEventListener('close', r, {once: true})), sleep(2000)]);
          await finishWithPair(s, {ok: true, files, errors});
        }
        return;
      }
      if (!header) { refuse('binary data before the header'); return; }
      if (got + d.byteLength > header.size) { refuse(`more bytes than size ${header.size}`); return; }
      buf.set(new Uint8Array(d), got);
      got += d.byteLength;
      if (now() - lastProgress > 500) { lastProgress = now(); emit('transfer-progress', {name: header.name, bytes: got, size: header.size}); }
    });
    ch.addEventListener('close', () => {
      if (!over) { over = true; errors.push({name: header && header.name, reason: 'channel closed before eof'}); buf = null; }
    });
  }
  s.start();
}

// Data-channel open time, `rounds` times in rooms ROOM-0, ROOM-1, ...: the newcomer measures
// welcome -> its channel `bench-open` open; the peer first in the room measures
// peer-joined -> that channel open on its side. The newcomer hangs up after each round.
function benchOpen() {
  const rounds = Math.max(1, intParam('rounds', 1));
  const results = [];
  const oneRound = (r) => new Promise((resolve) => {
    const url = rounds > 1 ? `${SIGNAL}-${r}` : SIGNAL;
    let s, reported = false;
    const done = (extra) => {
      if (reported) return;
      reported = true;
      const t = s.times;
      results.push(Object.assign({round: r, role: s.newcomer ? 'newcomer' : 'first', times: t}, extra));
      resolve();
    };
    s = new Session(url, {
      onReady(session, newcomer) {
        if (!newcomer) return;
        const ch = session.createChannel('bench-open');
        waitOpen(ch).then(() => {
          done({open_ms: round3(s.times['datachannel-open'] - s.times.welcome)});
          setTimeout(() => session.hangup(), 50);
        }, (err) => { done({error: errText(err)}); session.hangup(); });
      },
      onRemoteChannel(ch) {
        waitOpen(ch).then(() => {
          s.waitingBye = true;
          s.openedAt = now();
        }, (err) => { done({error: errText(err)}); s.hangup(false); });
      },
      onRemoteGone(reason) {
        if (!s.newcomer && s.openedAt) done({open_ms: round3(s.openedAt - s.times['peer-joined'])});
        else if (!s.newcomer) done({error: `remote gone (${reason}) before open`});
        s.hangup(false);
      },
      onFailed(reason) { done({error: reason}); s.hangup(); },
    });
    s.start();
  });
  (async () => {
    for (let r = 0; r < rounds; r++) await oneRound(r);
    const mine = results.filter((x) => x.role === 'newcomer' && x.open_ms !== undefined).map((x) => x.open_ms);
    finish({ok: results.every((x) => x.error === undefined), rounds: results, newcomer_open_ms: stats(mine)});
  })();
}

// Throughput over one ordered reliable channel `bench`. role=send (default when bytes > 0):
// sends {"type":"bench","bytes":N} then N bytes in `chunk` messages paced by bufferedAmount,
// and waits for the receiver's {"type":"done","bytes":N,"seconds":S}. role=receive: counts.
function benchThroughput() {
  const bytes = intParam('bytes', 0);
  const role = param('role', bytes > 0 ? 'send' : 'receive');
  const chunkParam = intParam('chunk', 65536);
  const high = intParam('high', 4 << 20);
  const low = intParam('low', 1 << 20);
  const s = new Session(SIGNAL, {
    async onReady(session) {
      if (role !== 'send') return;
      try {
        const ch = session.createChannel('bench');
        const inbox = new Inbox(ch);
        await waitOpen(ch);
        const chunk = Math.min(chunkParam, session.limits().remote_max_message_size);
        ch.bufferedAmountLowThreshold = low;
        const block = makePattern(chunk, 7);
        ch.send(JSON.stringify({type: 'bench', bytes}));
        const t0 = now();
        let lastProgress = t0;
        for (let off = 0; off < bytes; off += chunk) {
          await drain(ch, high);
          const n = Math.min(chunk, bytes - off);
          ch.send(n === chunk ? block : block.subarray(0, n));
          if (now() - lastProgress > 1000) { lastProgress = now(); emit('transfer-progress', {name: 'bench', bytes: off, size: bytes}); }
        }
        const reply = await nextJson(inbox, MSG_TIMEOUT_MS);
        const seconds = (now() - t0) / 1000;
        await finishWithPair(session, {ok: reply.type === 'done' && reply.bytes === bytes, role, bytes, chunk, seconds: round3(seconds),
          mbps: round3(bytes / 1e6 / seconds), receiver: reply});
      } catch (err) {
        fail(`bench-throughput: ${errText(err)}`);
      }
      session.hangup();
    },
    onRemoteChannel(ch) {
      if (role !== 'receive') return;
      let want = -1, got = 0, t0 = 0, lastProgress = 0;
      ch.addEventListener('message', async (e) => {
        if (typeof e.data === 'string') {
          const m = JSON.parse(e.data);
          if (m.type === 'bench') { want = m.bytes; got = 0; t0 = now(); lastProgress = t0; }
          return;
        }
        got += e.data.byteLength;
        if (now() - lastProgress > 1000) { lastProgress = now(); emit('transfer-progress', {name: 'bench', bytes: got, size: want}); }
        if (want >= 0 && got >= want) {
          const seconds = (now() - t0) / 1000;
          ch.send(JSON.stringify({type: 'done', bytes: got, seconds: round3(seconds)}));
          await finishWithPair(s, {ok: got === want, role, bytes: got, seconds: round3(seconds),
            mbps: round3(got / 1e6 / seconds)});
        }
      });
    },
    onRemoteGone(reason) { failAfterGrace(s, `remote hung up (${reason}) before the end`); },
  });
  s.start();
}

// ---------------------------------------------------------------- media call

// getStats() per kind: the inbound-rtp, outbound-rtp and remote-inbound-rtp objects (the
// fields the tests read, W3C names) with their codec. With several streams of one kind the
// busiest is kept (there is one per kind here: RTX is not a separate inbound-rtp).
const IN_KEYS = ['ssrc', 'mid', 'packetsReceived', 'packetsLost', 'jitter', 'bytesReceived', 'framesDecoded',
  'keyFramesDecoded', 'framesReceived', 'framesDropped', 'frameWidth', 'frameHeight', 'framesPerSecond', 'nackCount',
  'pliCount', 'firCount', 'totalSamplesReceived', 'concealedSamples', 'silentConcealedSamples', 'audioLevel',
  'totalAudioEnergy', 'jitterBufferEmittedCount', 'retransmittedPacketsReceived', 'decoderImplementation'];
const OUT_KEYS = ['ssrc', 'mid', 'packetsSent', 'bytesSent', 'framesEncoded', 'keyFramesEncoded', 'framesSent',
  'frameWidth', 'frameHeight', 'framesPerSecond', 'nackCount', 'pliCount', 'firCount', 'retransmittedPacketsSent',
  'targetBitrate', 'qualityLimitationReason', 'encoderImplementation'];
const REMOTE_IN_KEYS = ['ssrc', 'packetsLost', 'jitter', 'roundTripTime', 'fractionLost', 'roundTripTimeMeasurements'];

async function mediaStats(pc) {
  const report = await pc.getStats();
  const out = {inbound: {}, outbound: {}, remote_inbound: {}};
  const pick = (s, keys) => {
    const o = {};
    for (const k of keys) if (s[k] !== undefined) o[k] = typeof s[k] === 'number' ? round3(s[k]) : s[k];
    const c = s.codecId && report.get(s.codecId);
    if (c) o.codec = {mimeType: c.mimeType, payloadType: c.payloadType, clockRate: c.clockRate, channels: c.channels, sdpFmtpLine: c.sdpFmtpLine};
    return o;
  };
  const keep = (into, kind, obj, count) => {
    if (!into[kind] || (into[kind][count] || 0) < (obj[count] || 0)) into[kind] = obj;
  };
  report.forEach((s) => {
    const kind = s.kind || s.mediaType;
    if (s.type === 'inbound-rtp') keep(out.inbound, kind, pick(s, IN_KEYS), 'packetsReceived');
    else if (s.type === 'outbound-rtp') keep(out.outbound, kind, pick(s, OUT_KEYS), 'packetsSent');
    else if (s.type === 'remote-inbound-rtp') keep(out.remote_inbound, kind, pick(s, REMOTE_IN_KEYS), 'roundTripTimeMeasurements');
  });
  return out;
}

// A short per-second line: enough to see media flow (or not) while the call runs.
function statsLine(st) {
  const line = {};
  for (const [dir, keys] of [['inbound', ['packetsReceived', 'framesDecoded', 'frameWidth', 'frameHeight', 'totalSamplesReceived']],
    ['outbound', ['packetsSent', 'framesEncoded', 'frameWidth', 'frameHeight']]]) {
    for (const kind of Object.keys(st[dir])) {
      const o = {};
      for (const k of keys) if (st[dir][kind][k] !== undefined) o[k] = st[dir][kind][k];
      line[`${dir}_${kind}`] = o;
    }
  }
  return line;
}

// codecs=default leaves Chromium's own list (VP8 is one of many: the other side must pick it);
// prefer: VP8 / opus first, the rest after; only: VP8 (+rtx) / opus alone; vp8-last: VP8 /
// opus moved to the end, so that a peer that takes the first codec it knows gets it wrong.
function applyCodecPreferences(transceiver, how) {
  if (how === 'default' || !transceiver.setCodecPreferences) return;
  const kind = transceiver.receiver.track.kind;
  const caps = RTCRtpReceiver.getCapabilities(kind);
  if (!caps) return;
  const want = kind === 'video' ? 'video/vp8' : 'audio/opus';
  const mine = caps.codecs.filter((c) => c.mimeType.toLowerCase() === want);
  const rtx = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'video/rtx');
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== want);
  let list;
  if (how === 'prefer') list = mine.concat(rest);
  else if (how === 'only') list = mine.concat(rtx);
  else if (how === 'vp8-last') list = rest.concat(mine);
  else throw new Error(`bad codecs=${how}`);
  transceiver.setCodecPreferences(list);
}

// Media call: Chromium's fake camera and microphone (chromium.py media=True) on audio=1 /
// video=1 (both by default), whatever arrives is played in <video>/<audio> elements (Chromium
// decodes and plays out only what has a sink), for `duration` seconds counted from
// connectionState 'connected'; then getStats() per kind is the result and the call is hung up
// (bye). A remote that hangs up first ends the call too (its stats are reported the same way).
// dc=1 also opens a data channel `chat` (in the offer as newcomer; after answering an offer
// that has m=application as first peer) and sends one message on it.
// ok: connected, and every kind the remote sends us arrived (video: frames decoded; audio:
// samples played out). The tests check sizes and the other side's view themselves.
function mediaCall() {
  const sendAudio = param('audio', '1') !== '0';
  const sendVideo = param('video', '1') !== '0';
  const withDc = param('dc', '0') !== '0';
  const durationS = Number(param('duration', '8'));
  const codecs = param('codecs', 'default');
  const width = intParam('width', 0), height = intParam('height', 0), fps = intParam('fps', 0);
  let stream = null;
  const tracks = [], channels = [];
  let t0 = null, ended = false, ticker = null;

  const attachTracks = (session) => {
    const pc = session.pc;
    for (const track of stream.getTracks()) {
      // 'detail' = degradationPreference maintain-resolution: under CPU or bandwidth pressure
      // (2 shared cores) Chromium drops frames rather than sending a smaller picture, so the
      // other side must decode exactly the captured size.
      if (track.kind === 'video') track.contentHint = 'detail';
      // As answerer addTrack() takes the offered transceiver of that kind (sendrecv), as
      // offerer it makes a new one.
      pc.addTrack(track, stream);
    }
    for (const t of pc.getTransceivers()) applyCodecPreferences(t, codecs);
  };
  const openChannel = (session) => {
    const ch = session.createChannel('chat');
    const info = {label: 'chat', opened: false, received: 0};
    channels.push(info);
    ch.addEventListener('open', () => { info.opened = true; ch.send(`hello from chromium ${MODE}`); });
    ch.addEventListener('message', () => { info.received++; });
  };
  const end = async (session, hangup) => {
    if (ended) return;
    ended = true;
    clearInterval(ticker);
    const pc = session.pc;
    let st = {inbound: {}, outbound: {}, remote_inbound: {}};
    try { st = await mediaStats(pc); } catch (err) { emit('error', {error: `getStats: ${errText(err)}`}); }
    const remoteSdp = pc.currentRemoteDescription ? pc.currentRemoteDescription.sdp : '';
    const remoteSends = (kind) => pc.getTransceivers().some((t) => t.receiver.track.kind === kind &&
      (t.currentDirection === 'sendrecv' || t.currentDirection === 'recvonly'));
    const problems = [];
    if (t0 === null) problems.push('never connected');
    for (const kind of ['audio', 'video']) {
      if (!remoteSends(kind)) continue;
      const i = st.inbound[kind] || {};
      if (!(i.packetsReceived > 0)) problems.push(`no ${kind} packets received`);
      else if (kind === 'video' && !(i.framesDecoded > 0)) problems.push('no video frame decoded');
      else if (kind === 'audio' && !(i.totalSamplesReceived > 0)) problems.push('no audio sample played out');
    }
    await finishWithPair(session, Object.assign({ok: problems.length === 0, error: problems.join('; ') || undefined,
      hangup, call_s: t0 === null ? 0 : round3((now() - t0) / 1000), tracks, datachannels: channels,
      sending: stream.getTracks().map((t) => Object.assign({kind: t.kind, label: t.label}, t.getSettings())),
      local_sdp: pc.localDescription ? pc.localDescription.sdp : '', remote_sdp: remoteSdp}, st));
    session.hangup(!hangup);
  };

  const s = new Session(SIGNAL, {
    placeholder: false,
    onPeerConnection(session) {
      const pc = session.pc;
      pc.addEventListener('track', (e) => {
        const el = document.createElement(e.track.kind === 'video' ? 'video' : 'audio');
        el.autoplay = true; el.muted = false; el.playsInline = true;
        el.srcObject = e.streams[0] || new MediaStream([e.track]);
        document.body.appendChild(el);
        el.play().catch((err) => emit('error', {error: `play ${e.track.kind}: ${errText(err)}`}));
        tracks.push({kind: e.track.kind, mid: e.transceiver.mid});
        emit('track', {kind: e.track.kind, mid: e.transceiver.mid});
      });
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState !== 'connected' || t0 !== null) return;
        t0 = now();
        ticker = setInterval(async () => {
          try { emit('stats', statsLine(await mediaStats(pc))); } catch (err) { /* closing */ }
        }, 1000);
        setTimeout(() => end(session, null), durationS * 1000);
      });
    },
    onReady(session, newcomer) {
      const pc = session.pc;
      if (newcomer) {
        attachTracks(session);
        if (withDc) openChannel(session);
      } else if (withDc) {
        const sdp = pc.remoteDescription ? pc.remoteDescription.sdp : '';
        if (/^m=application /m.test(sdp)) openChannel(session);
        else channels.push({label: 'chat', opened: false, skipped: 'the offer has no m=application'});
      }
    },
    beforeAnswer(session) {
      if (!session.ready) attachTracks(session);
    },
    onRemoteChannel(ch) {
      const info = {label: ch.label, opened: ch.readyState === 'open', received: 0, remote: true};
      channels.push(info);
      ch.addEventListener('open', () => { info.opened = true; });
      ch.addEventListener('message', () => { info.received++; });
    },
    onRemoteGone(reason) { end(s, reason); },
  });
  const video = !sendVideo ? false : (width || height || fps)
    ? Object.assign({}, width ? {width: {exact: width}} : {}, height ? {height: {exact: height}} : {}, fps ? {frameRate: fps} : {})
    : true;
  if (!sendAudio && !sendVideo) { stream = new MediaStream(); s.start(); return; }
  navigator.mediaDevices.getUserMedia({audio: sendAudio, video}).then((st) => {
    stream = st;
    emit('media-permission', {state: 'granted', tracks: st.getTracks().map((t) => Object.assign({kind: t.kind}, t.getSettings()))});
    s.start();
  }, (err) => fail(`getUserMedia: ${errText(err)} (chromium.py needs media=True)`));
}

const MODES = {
  'echo-server': echoServer,
  'echo-client': echoClient,
  'send': sendFiles,
  'receive': receiveFiles,
  'bench-open': benchOpen,
  'bench-throughput': benchThroughput,
  'call': mediaCall,
};

(function main() {
  emit('page', {mode: MODE, signal: SIGNAL, user_agent: navigator.userAgent, load_ms: round3(T_LOAD)});
  if (!/^wss?:\/\/[^/]+\/[A-Za-z0-9_-]{1,64}$/.test(SIGNAL)) { fail(`bad or missing signal=ws://HOST:PORT/ROOM: ${SIGNAL}`); return; }
  const run = MODES[MODE];
  if (!run) { fail(`unknown mode ${MODE}`); return; }
  setTimeout(() => fail(`timeout: no result within ${TIMEOUT_S} s`), TIMEOUT_S * 1000);
  // gum=1: call getUserMedia({audio: true}) first and stop the track. With media permission
  // granted (chromium.py media=True) Chromium signals raw host addresses instead of mDNS names.
  const start = param('gum', '0') !== '0'
    ? navigator.mediaDevices.getUserMedia({audio: true}).then((stream) => {
      stream.getTracks().forEach((t) => t.stop());
      emit('media-permission', {state: 'granted'});
    }, (err) => emit('media-permission', {state: 'denied', error: errText(err)}))
    : Promise.resolve();
  start.then(() => { try { run(); } catch (err) { fail(errText(err)); } });
})();
