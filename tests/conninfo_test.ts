import { assertEquals, assertThrows } from "./_assert.ts";
import { parseConnUrl, toolConnection, toPostgresJs } from "../lib/conninfo.ts";

Deno.test("parseConnUrl: user, password, host, port, database, params", () => {
  const info = parseConnUrl(
    "postgres://app:p%40ss%3Aword@db.example:6543/my%20db?sslmode=require&application_name=x",
  );
  assertEquals(info.user, "app");
  assertEquals(info.password, "p@ss:word");
  assertEquals(info.hosts, ["db.example"]);
  assertEquals(info.ports, [6543]);
  assertEquals(info.database, "my db");
  assertEquals(info.params, { sslmode: "require", application_name: "x" });
});

Deno.test("parseConnUrl: defaults, socket host, several hosts, IPv6", () => {
  assertEquals(parseConnUrl("postgresql://localhost").ports, [5432]);
  assertEquals(parseConnUrl("postgres:///db?host=/var/run/postgresql").hosts, [
    "/var/run/postgresql",
  ]);
  const multi = parseConnUrl("postgres://u@h1:5432,h2:5433/db");
  assertEquals([multi.hosts, multi.ports], [["h1", "h2"], [5432, 5433]]);
  assertEquals(parseConnUrl("postgres://[::1]:5555/db").hosts, ["::1"]);
  assertEquals(parseConnUrl("postgres://u:pa/ss@h/db").password, "pa/ss");
});

Deno.test("parseConnUrl: a password parameter wins over the user info's and is no server setting", () => {
  const info = parseConnUrl("postgres://u:old@h/db?password=n%26w&sslmode=disable");
  assertEquals([info.password, info.params], ["n&w", { sslmode: "disable" }]);
  assertEquals(toPostgresJs(info).connection, {});
});

Deno.test("parseConnUrl refuses what is not a postgres URL", () => {
  assertThrows(() => parseConnUrl("mysql://x"), TypeError, "postgres://");
  assertThrows(() => parseConnUrl("postgres://h:99999/db"), TypeError, "port");
  assertThrows(() => parseConnUrl("postgres://u:%zz@h/db"), TypeError, "%-escape");
});

Deno.test("toPostgresJs: socket path, sslmode, server settings pass through", () => {
  const socket = toPostgresJs(
    parseConnUrl("postgres://u@/db?host=/run/pg&port=5444&options=-c%20search_path%3Dx"),
  );
  assertEquals(socket.path, "/run/pg/.s.PGSQL.5444");
  assertEquals(socket.ssl, false);
  assertEquals(socket.connection, { options: "-c search_path=x" });
  const tls = toPostgresJs(
    parseConnUrl("postgres://u@h/db?sslmode=verify-full&application_name=me&connect_timeout=5"),
  );
  assertEquals(tls.ssl, "verify-full");
  assertEquals(tls.connection, { application_name: "me" });
  assertEquals(toPostgresJs(parseConnUrl("postgres://h/db?sslmode=disable")).ssl, false);
  assertThrows(
    () => toPostgresJs(parseConnUrl("postgres://h/db?sslmode=sometimes")),
    TypeError,
    "sslmode",
  );
});

Deno.test("toolConnection keeps the password off the command line", () => {
  assertEquals(toolConnection(parseConnUrl("postgres://u:s3cret@h:5/db?sslmode=require")), {
    dbname: "postgres://u@h:5/db?sslmode=require",
    env: { PGPASSWORD: "s3cret" },
  });
  assertEquals(toolConnection(parseConnUrl("postgres://h/db")), {
    dbname: "postgres://h/db",
    env: {},
  });
  assertEquals(toolConnection(parseConnUrl("postgresql://:pw@h/db")).dbname, "postgresql://h/db");
  for (
    const [url, dbname] of [
      ["postgres://u@h/db?password=pw", "postgres://u@h/db"],
      ["postgres://u@h/db?password=pw&sslmode=require", "postgres://u@h/db?sslmode=require"],
      ["postgres://u@h/db?sslmode=require&password=pw", "postgres://u@h/db?sslmode=require"],
      ["postgres://u@h/db?a=1&password=pw&b=2", "postgres://u@h/db?a=1&b=2"],
    ]
  ) assertEquals(toolConnection(parseConnUrl(url)), { dbname, env: { PGPASSWORD: "pw" } });
});
