// BIND 9 in tests: the `options` block of a named.conf that keeps every file in the test's own
// folder and serves only on loopback at `port` (authoritative, no recursion).
export function namedOptions(dir: string, port: number): string {
  return `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
};
`;
}
