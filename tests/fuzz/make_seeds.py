#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets added for issue 8 into tests/fuzz/corpus/.

Run from anywhere: python3 tests/fuzz/make_seeds.py. The seeds are checked in; this script says
where each comes from, so that they can be regenerated or extended:
  fuzz_candidate    every a=candidate line of the Chromium, Firefox and aiortc SDP fixtures
                    (tests/core/sdp/fixtures, tests/fuzz/corpus/fuzz_sdp)
  fuzz_server_uri   the examples of RFC 7064 §3 / RFC 7065 §3 and the forms the CLI documents
  fuzz_dcep         DATA_CHANNEL_OPEN / ACK laid out as RFC 8832 §5 says, with the channel
                    types and priorities browsers send
  fuzz_turn         ChannelData frames (RFC 8656 §12.4), a TCP stream of STUN and ChannelData,
                    and client scripts holding a 401, an Allocate success, CreatePermission and
                    ChannelBind successes and a Data indication, as a TURN server sends them
  fuzz_signal_hub   scripts of SIGNALING.md sessions: a pair that offers, answers, trickles and
                    says bye; bad rooms, a query string, bad messages, a third peer
  fuzz_peer_signal  what a peer relays (one JSON frame per line): the Chromium, Firefox and
                    aiortc offers and answers of tests/core/sdp/fixtures with their trickled
                    candidates, as answerer and as offerer, glare, a bye and a second call, and
                    the wrong shapes of issue 8 row 1
  fuzz_dtls_record  captured on loopback from OpenSSL 3.0's s_client / s_server (checked in as
                    they are; see tests/fuzz/corpus/fuzz_dtls_record/README), plus crafted
                    epoch-0 alert and ChangeCipherSpec records and an epoch-1 record
"""
import glob
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, 'corpus')


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), 'wb') as f:
        f.write(data)


def candidates():
    lines = set()
    for path in glob.glob(os.path.join(ROOT, 'tests/core/sdp/fixtures/*.sdp')) + \
            glob.glob(os.path.join(CORPUS, 'fuzz_sdp/*.sdp')):
        with open(path) as f:
            for line in f:
                if line.startswith('a=candidate:'):
                    lines.add((os.path.basename(path).split('_')[0], line.strip()))
    for i, (origin, line) in enumerate(sorted(lines)):
        # Trickled as the W3C shape carries it: without "a=", sometimes with a CRLF.
        text = line[2:] if i % 2 == 0 else line + '\r\n'
        write('fuzz_candidate', f'{origin}_{i:02d}', text)


def uris():
    for i, uri in enumerate([
            'stun:example.org', 'stuns:example.org', 'stun:example.org:8000',
            'turn:example.org', 'turns:example.org', 'turn:example.org:8000',
            'turn:example.org?transport=udp', 'turn:example.org?transport=tcp',
            'turns:example.org?transport=tcp', 'stun:[2001:db8::1]:3478',
            'turn:192.0.2.1:3478?transport=tcp', 'stun:stun.l.google.com:19302',
            'stun://203.0.113.2', 'turn:[::1]?transport=udp']):
        write('fuzz_server_uri', f'uri_{i:02d}', uri)


def dcep_open(channel_type, priority, param, label, protocol):
    return struct.pack('!BBHIHH', 3, channel_type, priority, param, len(label),
                       len(protocol)) + label + protocol


def dcep():
    write('fuzz_dcep', 'open_reliable_chat', dcep_open(0x00, 256, 0, b'chat', b''))
    write('fuzz_dcep', 'open_unordered_rexmit', dcep_open(0x81, 128, 3, b'game', b'proto/1'))
    write('fuzz_dcep', 'open_timed_high', dcep_open(0x02, 512, 1000, b'\xc3\xa9t\xc3\xa9', b''))
    write('fuzz_dcep', 'open_unordered_timed', dcep_open(0x82, 1024, 150, b'', b'x-proto'))
    write('fuzz_dcep', 'open_tincan_transfer', dcep_open(0x00, 256, 0, b'file:1', b'tincan-file'))
    write('fuzz_dcep', 'ack', b'\x02')


MAGIC = 0x2112A442
TID = bytes(range(1, 13))


def attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack('!HH', kind, len(value)) + value + b'\0' * pad


def xor_v4(kind, ip, port):
    a = bytes(int(x) for x in ip.split('.'))
    x = bytes(b ^ m for b, m in zip(a, struct.pack('!I', MAGIC)))
    return attr(kind, struct.pack('!BBH', 0, 1, port ^ (MAGIC >> 16)) + x)


def stun(msg_type, attrs):
    body = b''.join(attrs)
    return struct.pack('!HHI', msg_type, len(body), MAGIC) + TID + body


def channel_data(channel, payload, pad):
    out = struct.pack('!HH', channel, len(payload)) + payload
    if pad:
        out += b'\0' * ((4 - len(payload) % 4) % 4)
    return out


def chunk(data):
    assert len(data) < 0xFF * 256
    return (bytes([len(data)]) if len(data) < 0xFF else b'\xff' + struct.pack('!H', len(data))) + data


def turn():
    unauthorized = stun(0x0113, [attr(0x0009, struct.pack('!HBB', 0, 4, 1) + b'Unauthorized'),
                                 attr(0x0014, b'example.org'), attr(0x0015, b'f00dnonce')])
    allocated = stun(0x0103, [xor_v4(0x0016, '203.0.113.5', 49152),
                              xor_v4(0x0020, '198.51.100.9', 40000),
                              attr(0x000D, struct.pack('!I', 600))])
    permitted = stun(0x0108, [])
    bound = stun(0x0109, [])
    refreshed = stun(0x0104, [attr(0x000D, struct.pack('!I', 600))])
    data_ind = stun(0x0117, [xor_v4(0x0012, '203.0.113.9', 6000), attr(0x0013, b'hello peer')])
    cd = channel_data(0x4000, b'\x16\xfe\xfd' + b'x' * 20, False)

    write('fuzz_turn', 'channeldata_udp', b'\x00' + cd)
    write('fuzz_turn', 'channeldata_padded', b'\x00' + channel_data(0x4001, b'abcde', True))
    write('fuzz_turn', 'channeldata_empty', b'\x00' + channel_data(0x4FFF, b'', False))
    stream = unauthorized + channel_data(0x4000, b'abc', True) + allocated
    write('fuzz_turn', 'framer_whole', b'\x01' + chunk(stream))
    write('fuzz_turn', 'framer_split', b'\x01' + b''.join(
        chunk(stream[i:i + 7]) for i in range(0, len(stream), 7)))

    # Client scripts: 0x08 stamps the latest request's transaction id, 0x10 signs.
    def script(transport, steps):
        return bytes([transport]) + b''.join(steps)
    udp = [b'\x08' + chunk(unauthorized), b'\x18' + chunk(allocated),
           b'\x04' + chunk(b'to peer'), b'\x18' + chunk(permitted),
           b'\x04' + chunk(b'again'), b'\x18' + chunk(bound),
           b'\x00' + chunk(cd), b'\x00' + chunk(data_ind),
           b'\x03\x40', b'\x18' + chunk(refreshed), b'\x07']
    write('fuzz_turn', 'client_udp_allocate_bind', script(2, udp))
    write('fuzz_turn', 'client_tcp_allocate_bind', script(3, [
        b'\x08' + chunk(unauthorized), b'\x18' + chunk(allocated),
        b'\x04' + chunk(b'to peer'), b'\x18' + chunk(permitted),
        b'\x00' + chunk(channel_data(0x4000, b'abc', True)), b'\x06']))
    write('fuzz_turn', 'client_udp_timeouts', script(2, [b'\x03\xff'] * 8))


def hub():
    def op(kind, slot):
        return bytes([(kind << 3) | slot])
    OPEN, TEXT, BINARY, CLOSE = 0, 1, 3, 4
    sdp = open(os.path.join(ROOT, 'tests/core/sdp/fixtures/chrome_datachannel_offer.sdp')).read()
    offer = '{"type":"offer","sdp":%s}' % __import__('json').dumps(sdp)
    cand = ('{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 '
            '192.0.2.7 50123 typ host","sdpMid":"0","sdpMLineIndex":0}}')
    session = [op(OPEN, 0) + chunk(b'/room1'), op(OPEN, 1) + chunk(b'/room1'),
               op(TEXT, 1) + chunk(offer.encode()),
               op(TEXT, 0) + chunk(b'{"type":"answer","sdp":"v=0\\r\\n"}'),
               op(TEXT, 1) + chunk(cand.encode()),
               op(TEXT, 1) + chunk(b'{"type":"candidate","candidate":null}'),
               op(TEXT, 0) + chunk(b'{"type":"bye"}'), op(CLOSE, 0), op(CLOSE, 1)]
    write('fuzz_signal_hub', 'pair_session', b''.join(session))
    write('fuzz_signal_hub', 'bad_rooms', b''.join([
        op(OPEN, 0) + chunk(b'/room?x=1'), op(OPEN, 1) + chunk(b'/r#f'),
        op(OPEN, 2) + chunk(b'/a/b'), op(OPEN, 3) + chunk(b'/' + b'a' * 65),
        op(OPEN, 4) + chunk(b'/%20'), op(OPEN, 5) + chunk(b'')]))
    write('fuzz_signal_hub', 'bad_messages', b''.join([
        op(OPEN, 0) + chunk(b'/x'), op(OPEN, 1) + chunk(b'/x'),
        op(TEXT, 0) + chunk(b'[{"type":"offer"}]'), op(OPEN, 2) + chunk(b'/x'),
        op(TEXT, 2) + chunk(b'{"type":1}'), op(OPEN, 3) + chunk(b'/x'),
        op(BINARY, 3), op(TEXT, 1) + chunk(b'{"type":"offer"')]))
    write('fuzz_signal_hub', 'third_peer_and_rooms', b''.join([
        op(OPEN, 0) + chunk(b'/a'), op(OPEN, 1) + chunk(b'/a'), op(OPEN, 2) + chunk(b'/a'),
        op(OPEN, 3) + chunk(b'/b'), op(OPEN, 4) + chunk(b'/c'), op(OPEN, 5) + chunk(b'/d'),
        op(TEXT, 3) + chunk(b'{"type":"alone"}'), op(CLOSE, 0),
        op(OPEN, 6) + chunk(b'/a'), op(TEXT, 6) + chunk(b'{"type":"x","type":"bye"}')]))


def dtls():
    # Crafted: epoch-0 alert (close_notify), ChangeCipherSpec, and an epoch-1 record.
    def record(content, epoch, seq, body, version=b'\xfe\xfd'):
        return bytes([content]) + version + struct.pack('!H', epoch) + seq.to_bytes(6, 'big') + \
            struct.pack('!H', len(body)) + body
    write('fuzz_dtls_record', 'alert_close_notify', record(21, 0, 3, b'\x01\x00'))
    write('fuzz_dtls_record', 'ccs_then_encrypted', record(20, 0, 4, b'\x01') +
          record(22, 1, 0, bytes(range(40))))
    write('fuzz_dtls_record', 'application_data_epoch1', record(23, 1, 7, b'\xaa' * 48))


def peer_signal():
    import json
    fixtures = os.path.join(ROOT, 'tests/core/sdp/fixtures')

    def frames(*msgs):
        return '\n'.join(m if isinstance(m, str) else json.dumps(m) for m in msgs)

    def trickle(sdp):
        return [{'type': 'candidate', 'candidate': {'candidate': line[2:], 'sdpMid': '0',
                                                    'sdpMLineIndex': 0}}
                for line in sdp.splitlines() if line.startswith('a=candidate:')]

    welcome_newcomer = {'type': 'welcome', 'peers': 1}
    for path in sorted(glob.glob(os.path.join(fixtures, '*.sdp'))):
        name = os.path.basename(path)[:-4]
        sdp = open(path).read()
        kind = 'offer' if name.endswith('offer') else 'answer'
        msg = {'type': kind, 'sdp': sdp}
        if kind == 'offer':  # we answer, then the peer trickles and hangs up
            write('fuzz_peer_signal', name, frames(msg, *trickle(sdp), {'type': 'candidate',
                  'candidate': None}, {'type': 'bye'}, msg))
        else:  # we offered first (the newcomer), this is the peer's answer
            write('fuzz_peer_signal', name, frames(welcome_newcomer, msg, *trickle(sdp)))
    chrome = open(os.path.join(fixtures, 'chrome_av_data_offer.sdp')).read()
    write('fuzz_peer_signal', 'glare_impolite', frames(welcome_newcomer,
          {'type': 'offer', 'sdp': chrome}, {'type': 'answer', 'sdp': chrome}))
    line = 'candidate:1 1 udp 2130706431 127.0.0.1 9 typ host'
    write('fuzz_peer_signal', 'wrong_shapes', frames(
        {'type': 'candidate', 'candidate': {'candidate': line, 'sdpMid': None, 'sdpMLineIndex': 0}},
        {'type': 'candidate', 'candidate': {'candidate': line, 'sdpMid': 0}},
        {'type': 'candidate', 'candidate': {'candidate': line, 'sdpMLineIndex': '0'}},
        {'type': 'candidate', 'candidate': 5}, {'type': 'welcome', 'peers': 'one'},
        {'type': 'error', 'reason': 'room full'}, {'type': 'offer'}, {'type': 'media'},
        '[1,2]', '{"type":"offer","sdp":', {'type': 'bye'}))


if __name__ == '__main__':
    candidates()
    uris()
    dcep()
    turn()
    hub()
    dtls()
    peer_signal()
