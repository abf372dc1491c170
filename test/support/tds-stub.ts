import net from 'node:net';

/**
 * A SQL Server endpoint on loopback that speaks just enough TDS to refuse a login, as a real server
 * does: it answers PRELOGIN (no encryption) and every LOGIN7 with an ERROR token and a DONE with
 * its error bit. `refuse`: 18456 (wrong user or password) or 4060 (the database cannot be opened).
 * `accept` instead: every login succeeds (LOGINACK) and every request is answered DONE, no rows;
 * it records how each request came (a SQL batch, or an RPC such as sp_executesql) and its text.
 * Records the user of each LOGIN7 it was sent.
 */
export interface TdsStub {
  port: number;
  logins: string[];
  requests: Array<{ kind: 'batch' | 'rpc'; text: string }>;
  close(): Promise<void>;
}

export type TdsStubMode = { refuse: 18456 | 4060; database?: string } | { accept: true };

const PRELOGIN = 0x12;
const LOGIN7 = 0x10;
const SQL_BATCH = 0x01;
const RPC = 0x03;
const REPLY = 0x04;

const u16be = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u16le = (n: number) => Buffer.from([n & 0xff, (n >> 8) & 0xff]);
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** One TDS packet: type, status 1 (end of message), length, spid, packet id, window. */
function packet(type: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, 0x01]), u16be(8 + payload.length), Buffer.from([0, 0, 1, 0]), payload]);
}

/** PRELOGIN answer: version, encryption not supported, instance, thread id, MARS off. */
function preloginAnswer(): Buffer {
  const options: Array<[number, Buffer]> = [
    [0x00, Buffer.from([16, 0, 0x0f, 0xa0, 0, 0])],
    [0x01, Buffer.from([0x02])],
    [0x02, Buffer.from([0x00])],
    [0x03, Buffer.alloc(0)],
    [0x04, Buffer.from([0x00])],
  ];
  let offset = options.length * 5 + 1;
  const heads: Buffer[] = [];
  for (const [token, value] of options) {
    heads.push(Buffer.concat([Buffer.from([token]), u16be(offset), u16be(value.length)]));
    offset += value.length;
  }
  return Buffer.concat([...heads, Buffer.from([0xff]), ...options.map(([, v]) => v)]);
}

/** ERROR token (0xAA) and a DONE token (0xFD) whose status has the error bit. */
function refusal(number: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf16le');
  const server = Buffer.from('stub', 'utf16le');
  const body = Buffer.concat([
    u32le(number),
    Buffer.from([1, 14]), // state, class
    u16le(message.length),
    text,
    Buffer.from([server.length / 2]),
    server,
    Buffer.from([0]), // no procedure
    u32le(1), // line
  ]);
  const done = Buffer.concat([Buffer.from([0xfd]), u16le(0x0002), u16le(0), Buffer.alloc(8)]);
  return Buffer.concat([Buffer.from([0xaa]), u16le(body.length), body, done]);
}

const done = () => Buffer.concat([Buffer.from([0xfd]), u16le(0), u16le(0), Buffer.alloc(8)]);

/** LOGINACK (0xAD): SQL interface, TDS 7.4, a program name and version; then DONE. */
function loginAck(): Buffer {
  const name = Buffer.from('stub', 'utf16le');
  const body = Buffer.concat([Buffer.from([1, 0x74, 0x00, 0x00, 0x04]), Buffer.from([name.length / 2]), name, Buffer.from([16, 0, 0, 0])]);
  return Buffer.concat([Buffer.from([0xad]), u16le(body.length), body, done()]);
}

/** A request's text after its ALL_HEADERS block: the SQL of a batch, the procedure and parameters of an RPC. */
const requestText = (payload: Buffer): string => payload.subarray(payload.readUInt32LE(0)).toString('utf16le');

/** The user name of a LOGIN7 message: after the fixed header, offsets and lengths in UTF-16 characters. */
function loginUser(payload: Buffer): string {
  const at = payload.readUInt16LE(40);
  const chars = payload.readUInt16LE(42);
  return payload.subarray(at, at + chars * 2).toString('utf16le');
}

export async function startTdsStub(o: TdsStubMode = { refuse: 18456 }): Promise<TdsStub> {
  const logins: string[] = [];
  const requests: TdsStub['requests'] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (data) => {
      buffered = Buffer.concat([buffered, data]);
      while (buffered.length >= 8 && buffered.length >= buffered.readUInt16BE(2)) {
        const length = buffered.readUInt16BE(2);
        const type = buffered[0];
        const payload = buffered.subarray(8, length);
        buffered = buffered.subarray(length);
        if (type === PRELOGIN) socket.write(packet(REPLY, preloginAnswer()));
        else if (type === LOGIN7) {
          const user = loginUser(payload);
          logins.push(user);
          if ('accept' in o) {
            socket.write(packet(REPLY, loginAck()));
            continue;
          }
          const message =
            o.refuse === 4060 ? `Cannot open database "${o.database ?? 'db'}" requested by the login. The login failed.` : `Login failed for user '${user}'.`;
          socket.write(packet(REPLY, refusal(o.refuse, message)));
        } else if ((type === SQL_BATCH || type === RPC) && 'accept' in o) {
          requests.push({ kind: type === SQL_BATCH ? 'batch' : 'rpc', text: requestText(payload) });
          socket.write(packet(REPLY, done()));
        } else socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    logins,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
