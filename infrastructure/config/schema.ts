import { z } from 'zod';

/*
 * The configuration schema. Every leaf has a default, so no file is needed at all; every object is
 * strict, so a misspelt key is an error rather than a silently ignored setting. Error messages are
 * phrased as "expected ..." because the loader appends ", got <value>" and prefixes the key path.
 */

function integer(min: number, max: number, what = `an integer ${min}-${max}`) {
  const error = `expected ${what}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.map((v) => `"${v}"`).join(', ')}` });
}

const text = (what = 'a string') => z.string({ error: `expected ${what}` });
const flag = () => z.boolean({ error: 'expected true or false' });
const port = () => integer(1, 65535);
/** A list of strings: a TOML array, or one comma-separated string (as environment variables give it). */
const list = (what: string) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item !== '') : value),
    z.array(z.string({ error: `expected ${what}` }), { error: `expected ${what}` }),
  );
/** 0 means "off" for optional listeners. */
const optionalPort = () => integer(0, 65535, 'an integer 0-65535 (0 = off)');

const listener = (defaultPort: number, enabled: boolean) =>
  z
    .object({
      enabled: flag().default(enabled),
      host: text('a host name or IP address').default('0.0.0.0'),
      port: port().default(defaultPort),
    })
    .strict()
    .prefault({});

export const configSchema = z
  .object({
    /** Name clients use to reach this device: server certificate SAN and `GatewayHostName`. */
    hostname: text('a host name').min(1, { error: 'expected a non-empty host name' }).default('localhost'),
    /** The edge device's identity in IoT Hub. */
    deviceId: text('a device id').min(1, { error: 'expected a non-empty device id' }).default('edgeport-device'),
    /** The IoT hub host name that SAS tokens name in `sr`. */
    iotHubHostname: text('a host name').default('edgeport.local'),
    /** Persistent state (database, certificates, module logs). Relative paths resolve against the working directory. */
    dataDir: text('a directory path').default('./data'),
    log: z
      .object({
        level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        format: oneOf(['auto', 'json', 'pretty']).default('auto'),
        /** Size of `<dataDir>/logs/edgeport.log` before it rotates to `edgeport.log.1` (one kept); 0 = no log file. */
        fileMaxBytes: integer(0, Number.MAX_SAFE_INTEGER, 'a size in bytes (0 = no log file)').default(10 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    hub: z
      .object({
        enabled: flag().default(true),
        mqtt: z
          .object({
            enabled: flag().default(true),
            host: text('a host name or IP address').default('0.0.0.0'),
            port: port().default(8883),
            /** Plain-TCP MQTT for development only; 0 keeps it off. */
            plainPort: optionalPort().default(0),
          })
          .strict()
          .prefault({}),
        amqp: listener(5671, true),
        /** HTTPS (edgeHub's 443): module-to-module methods and MQTT over WebSocket. */
        https: listener(443, true),
        /** Connection limits of every hub listener (docs/security.md); counts of 0 mean no limit. */
        limits: z
          .object({
            maxConnections: integer(0, 1_000_000, 'an integer 0-1000000 (0 = no limit)').default(10_000),
            maxConnectionsPerSource: integer(0, 1_000_000, 'an integer 0-1000000 (0 = no limit)').default(1_000),
            maxPendingConnections: integer(0, 1_000_000, 'an integer 0-1000000 (0 = no limit)').default(500),
            maxPendingPerSource: integer(0, 1_000_000, 'an integer 0-1000000 (0 = no limit)').default(100),
            /** A connection not authenticated this long after it was accepted is closed. */
            handshakeTimeoutSecs: integer(1, 3600, 'an integer number of seconds 1-3600').default(10),
            loginFailuresBeforeBackoff: integer(1, 1_000_000, 'an integer 1-1000000').default(10),
            loginBackoffMaxSecs: integer(1, 86_400, 'an integer number of seconds 1-86400').default(60),
            logSummaryIntervalSecs: integer(1, 3600, 'an integer number of seconds 1-3600').default(10),
          })
          .strict()
          .prefault({}),
        /** X.509 client authentication on every head (docs/certificates.md, "Client certificates"). */
        x509: z
          .object({
            /** CA certificates (PEM files) trusted for CA-signed identities (identity add --x509 --ca). */
            trustedCaFiles: list('a list of CA certificate files (PEM)').default([]),
            /** How often live certificate connections are checked against the identity registry (revocation). */
            revocationCheckSecs: integer(1, 3600, 'an integer number of seconds 1-3600').default(10),
          })
          .strict()
          .prefault({}),
        storeAndForward: z
          .object({
            /** Default message TTL when a route sets none; < 0 keeps messages forever (Azure semantics). */
            timeToLiveSecs: integer(-1, 2147483647, 'an integer number of seconds (-1 = forever)').default(7200),
            /** Store limit: over it, new messages are refused and nothing stored is dropped. 0 = no limit. */
            maxBytes: integer(0, Number.MAX_SAFE_INTEGER, 'a size in bytes (0 = no limit)').default(1024 * 1024 * 1024),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        kind: oneOf(['sqlite', 'postgres']).default('sqlite'),
        /** SQLite file; empty means `<dataDir>/edgeport.db`. */
        path: text('a file path').default(''),
        /** PostgreSQL connection URL, required when kind = "postgres". */
        url: text('a postgres:// URL').default(''),
        /** SQLite durability: "normal" survives process crashes and kills, "full" also power loss. */
        sync: oneOf(['normal', 'full']).default('normal'),
      })
      .strict()
      .prefault({}),
    agent: z
      .object({
        enabled: flag().default(true),
        /** "auto" uses Docker when its socket answers, else plain processes. */
        runtime: oneOf(['auto', 'docker', 'process']).default('auto'),
        dockerSocket: text('a unix socket path').default('/var/run/docker.sock'),
        /**
         * Several Edgeports on one Docker engine: this one's containers are labelled
         * `edgeport.instance=<name>` and named `<name>-<module>`; empty = named after the module.
         */
        dockerInstance: text('a container name prefix')
          .regex(/^$|^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, { error: 'expected letters, digits, "_", "." or "-" (starting with a letter or digit, at most 63), or "" for none' })
          .default(''),
        /** Local deployment manifest (standalone mode); empty = none yet. */
        manifest: text('a file path').default(''),
        /**
         * Registry credentials of this device (JSON: `{"<name>": {"address", "username", "password"}}`, as the
         * manifest's `registryCredentials`), mode 0600; used for images whose registry the deployment gives no
         * credential for (the manifest's credential wins). Empty = none. `edgeport setup` writes it.
         */
        registryCredentialsFile: text('a file path').default(''),
        /** What the agent verifies before it applies a deployment or starts an image (docs/agent.md, "Trust"). */
        trust: z
          .object({
            /** Root CA (PEM) of signed deployments (Azure manifest trust); set = only signed deployments are applied. */
            manifestRootCa: text('a file path').default(''),
            /** Public keys (PEM) of cosign image signatures; any = every Docker image must be signed by one. */
            imageKeys: list('a list of public key files (PEM)').default([]),
            /** Registries Docker images may come from (host[:port]); empty = any. */
            allowedRegistries: list('a list of registry hosts').default([]),
            /** Docker images must be pinned by digest (name@sha256:... or settings.digest). */
            requireDigest: flag().default(false),
            /** Refuse a tag that now resolves to another digest than the one last run from it. */
            refuseMovedTags: flag().default(false),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    upstream: z
      .object({
        kind: oneOf(['none', 'iothub', 'amqp091', 'parent']).default('none'),
        /** IoT Hub edge device connection string (kind = "iothub"): HostName=...;DeviceId=...;SharedAccessKey=... */
        connectionString: text('a connection string').default(''),
        /** Where to connect instead of the connection string's host (a proxy, a test emulator); empty = HostName/GatewayHostName. */
        host: text('a host name').default(''),
        /** IoT Hub AMQP port (AMQP over TLS). */
        amqpPort: port().default(5671),
        /** IoT Hub HTTPS port (device scope API). */
        httpsPort: port().default(443),
        /** Extra CA certificate (PEM file) to trust for the hub's TLS certificate; empty = the system's CAs. */
        caFile: text('a file path').default(''),
        /** Nested edge (kind = "parent"): the parent edge device's host name (its AMQP head and HTTPS port); empty = the connection string's GatewayHostName. */
        parentHostname: text('a host name').default(''),
        /** Nested edge (kind = "parent"): the parent's edge CA certificate (PEM file) its server certificate chains to; empty = the system's CAs. */
        trustBundleFile: text('a file path').default(''),
        /** Longest wait between two upstream reconnect attempts (exponential back-off with jitter up to this). */
        maxReconnectDelaySecs: integer(1, 3600, 'an integer number of seconds 1-3600').default(60),
        /** Device certificate (PEM file, chain allowed) for X.509 authentication (connection string with x509=true). */
        x509CertFile: text('a file path').default(''),
        /** Private key (PEM file, mode 0600) of upstream.x509CertFile. */
        x509KeyFile: text('a file path').default(''),
        /** Lifetime of the SAS tokens the upstream puts (renewed at 75 %). */
        tokenTtlSecs: integer(60, 86400, 'an integer number of seconds 60-86400').default(3600),
        /** AMQP 0-9-1 broker URL (kind = "amqp091"), amqp:// or amqps:// (never logged). */
        url: text('an amqp:// URL').default(''),
        /** Exchange `$upstream` messages are published to (kind = "amqp091"); declared durable topic; "" = the default exchange. */
        exchange: text('an exchange name').default('edgeport.upstream'),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        enabled: flag().default(true),
        host: text('a host name or IP address').default('0.0.0.0'),
        /** Prometheus `/metrics` and `/health`, on Azure IoT Edge's metrics port. */
        port: port().default(9600),
      })
      .strict()
      .prefault({}),
    /** The web dashboard (docs/dashboard.md): off unless enabled; loopback only by default. */
    dashboard: z
      .object({
        enabled: flag().default(false),
        host: text('a host name or IP address').default('127.0.0.1'),
        port: port().default(9700),
      })
      .strict()
      .prefault({}),
    certs: z
      .object({
        /** Edge CA and server certificate; empty means `<dataDir>/certs`. */
        dir: text('a directory path').default(''),
      })
      .strict()
      .prefault({}),
    secrets: z
      .object({
        /**
         * Master key that encrypts identity keys in the database (created 0600 on first start, in a
         * 0700 directory); empty means `<dataDir>/secrets/master.key`. Back it up with the data.
         */
        keyFile: text('a file path').default(''),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.storage.kind === 'postgres' && config.storage.url === '') {
      ctx.addIssue({ code: 'custom', path: ['storage', 'url'], message: 'expected a postgres:// URL when storage.kind is "postgres"', input: '' });
    }
    if (config.storage.url !== '' && !/^postgres(ql)?:\/\//.test(config.storage.url)) {
      ctx.addIssue({ code: 'custom', path: ['storage', 'url'], message: 'expected a postgres:// URL', input: '(hidden)' });
    }
    if (config.upstream.kind === 'parent') {
      const gateway = /(?:^|;)\s*GatewayHostName\s*=\s*([^;]+)/.exec(config.upstream.connectionString)?.[1]?.trim() ?? '';
      if (config.upstream.parentHostname === '' && gateway === '') {
        ctx.addIssue({ code: 'custom', path: ['upstream', 'parentHostname'], message: 'expected the parent edge device\'s host name when upstream.kind is "parent" (or GatewayHostName in upstream.connectionString)', input: '' });
      }
    }
    if (config.upstream.kind === 'iothub' || config.upstream.kind === 'parent') {
      const parts = new Map(config.upstream.connectionString.split(';').map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()] as const));
      const x509 = parts.get('x509')?.toLowerCase() === 'true';
      const missing = ['HostName', 'DeviceId', ...(x509 ? [] : ['SharedAccessKey'])].filter((k) => !parts.get(k));
      if (x509) {
        for (const key of ['x509CertFile', 'x509KeyFile'] as const) {
          if (config.upstream[key] === '') ctx.addIssue({ code: 'custom', path: ['upstream', key], message: 'expected a PEM file when upstream.connectionString has x509=true', input: '' });
        }
      }
      if (missing.length > 0) {
        ctx.addIssue({ code: 'custom', path: ['upstream', 'connectionString'], message: `expected the edge device connection string (HostName=...;DeviceId=...;SharedAccessKey=...) when upstream.kind is "${config.upstream.kind}"; missing ${missing.join(', ')}`, input: '(hidden)' });
      } else {
        if (parts.get('DeviceId') !== config.deviceId) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: `expected "${parts.get('DeviceId')}", the DeviceId of upstream.connectionString`, input: config.deviceId });
        if (parts.get('HostName')!.toLowerCase() !== config.iotHubHostname.toLowerCase()) ctx.addIssue({ code: 'custom', path: ['iotHubHostname'], message: `expected "${parts.get('HostName')}", the HostName of upstream.connectionString`, input: config.iotHubHostname });
      }
    }
    if (config.upstream.kind === 'amqp091' && !/^amqps?:\/\/./.test(config.upstream.url)) {
      ctx.addIssue({ code: 'custom', path: ['upstream', 'url'], message: 'expected an amqp:// or amqps:// URL when upstream.kind is "amqp091"', input: '(hidden)' });
    }
    if (config.hub.mqtt.plainPort !== 0 && config.hub.mqtt.plainPort === config.hub.mqtt.port) {
      ctx.addIssue({ code: 'custom', path: ['hub', 'mqtt', 'plainPort'], message: 'expected a port different from hub.mqtt.port', input: config.hub.mqtt.plainPort });
    }
  });

export type RawConfig = z.infer<typeof configSchema>;
