-- 001: the first schema of xeno-controld.
--
-- Money is in micro-credits (bigint, 1 credit = 1,000,000); prices are per
-- hour of a whole VM.  Sizes are bytes, bandwidth bits/s.  A NULL quota
-- does not apply.  docs/API.md and docs/ADMISSION.md say what each
-- column means to users.

-- The one host this controld runs.  Capacity is set from the command
-- line at each start; ratios, draining and prices by the operator.
CREATE TABLE host (
	id		integer PRIMARY KEY CHECK (id = 1),
	vcpus		bigint NOT NULL CHECK (vcpus >= 0),
	mem_bytes	bigint NOT NULL CHECK (mem_bytes >= 0),
	disk_bytes	bigint NOT NULL CHECK (disk_bytes >= 0),
	net_bps		bigint NOT NULL CHECK (net_bps >= 0),
	vcpu_ratio	integer NOT NULL DEFAULT 1000 CHECK (vcpu_ratio >= 1000),
	mem_ratio	integer NOT NULL DEFAULT 1000 CHECK (mem_ratio >= 1000),
	draining	boolean NOT NULL DEFAULT false,
	price_vcpu_hour	bigint NOT NULL DEFAULT 0 CHECK (price_vcpu_hour >= 0),
	price_gib_hour	bigint NOT NULL DEFAULT 0 CHECK (price_gib_hour >= 0)
);

CREATE TABLE tenants (
	id		bigserial PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	balance		bigint NOT NULL DEFAULT 0,
	committed	bigint NOT NULL DEFAULT 0 CHECK (committed >= 0),
	quota_vms	bigint CHECK (quota_vms >= 0),
	quota_vcpus	bigint CHECK (quota_vcpus >= 0),
	quota_mem	bigint CHECK (quota_mem >= 0),
	quota_disk	bigint CHECK (quota_disk >= 0),
	quota_net	bigint CHECK (quota_net >= 0),
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- API tokens: only the SHA-256 of the token is kept.
CREATE TABLE tokens (
	id		bigserial PRIMARY KEY,
	hash		bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
	role		text NOT NULL
			    CHECK (role IN ('tenant', 'operator', 'auditor')),
	tenant_id	bigint REFERENCES tenants,
	created_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz,
	CHECK (role <> 'tenant' OR tenant_id IS NOT NULL),
	CHECK (role <> 'operator' OR tenant_id IS NULL)
);

CREATE TABLE domains (
	id		bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL REFERENCES tenants,
	name		text NOT NULL,
	image		text NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('pv', 'hvm')),
	vcpus		integer NOT NULL,
	mem_bytes	bigint NOT NULL,
	disk_bytes	bigint NOT NULL DEFAULT 0,
	net_bps		bigint NOT NULL DEFAULT 0,
	network		boolean NOT NULL DEFAULT false,
	args		text NOT NULL DEFAULT '',
	disk_base	text,
	disk_mib	bigint,
	price		bigint NOT NULL,	-- per hour, quoted at admission
	reserved	bigint NOT NULL,	-- held on the tenant's balance
	state		text NOT NULL CHECK (state IN ('starting', 'running',
			    'stopping', 'stopped', 'exited', 'expired',
			    'destroyed', 'crashed', 'failed')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	lease_end	timestamptz NOT NULL,
	ended_at	timestamptz,
	end_reason	text,
	exit_status	integer,
	pid		integer,
	run_dir		text,
	mac		text,
	ip		text,
	console		bytea		-- the last 64 KiB, when it ended
);
CREATE INDEX domains_live ON domains (state)
    WHERE state IN ('starting', 'running', 'stopping');
CREATE INDEX domains_tenant ON domains (tenant_id, id);

-- Every admission decision, with what it was decided on.
CREATE TABLE decisions (
	id		bigserial PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	tenant_id	bigint NOT NULL REFERENCES tenants,
	domain_id	bigint REFERENCES domains,
	kind		text NOT NULL CHECK (kind IN ('create', 'dry_run',
			    'extend')),
	reason		text NOT NULL,		-- 'ok' or the limit hit
	requested	bigint,
	available	bigint,
	cost		bigint,
	inputs		jsonb NOT NULL
);

-- Final usage of each domain that ended, written with its charge.
CREATE TABLE usage (
	domain_id	bigint PRIMARY KEY REFERENCES domains,
	tenant_id	bigint NOT NULL REFERENCES tenants,
	started_at	timestamptz NOT NULL,
	ended_at	timestamptz NOT NULL,
	seconds		bigint NOT NULL,
	vcpus		integer NOT NULL,
	mem_bytes	bigint NOT NULL,
	cpu_ns		bigint NOT NULL,
	net_rx_bytes	bigint NOT NULL,
	net_tx_bytes	bigint NOT NULL,
	disk_rd_bytes	bigint NOT NULL,
	disk_wr_bytes	bigint NOT NULL,
	cost		bigint NOT NULL
);

-- Every change to a balance: top-ups and charges.
CREATE TABLE ledger (
	id		bigserial PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	tenant_id	bigint NOT NULL REFERENCES tenants,
	domain_id	bigint REFERENCES domains,
	kind		text NOT NULL CHECK (kind IN ('topup', 'charge')),
	amount		bigint NOT NULL
);

-- Replies to state-changing requests that carried an Idempotency-Key.
CREATE TABLE idempotency (
	token_id	bigint NOT NULL REFERENCES tokens,
	key		text NOT NULL,
	request_hash	bytea NOT NULL,
	status		integer NOT NULL,
	body		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (token_id, key)
);
