--
-- PostgreSQL database dump
--

\restrict WKMEpWdLKfkqzMHHBC7F1WSIBTzMDCPodwiax2VBOXeqbzIhwpnsELY6lqLxUuo

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: aliases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.aliases (
    flow_id bigint NOT NULL,
    name text NOT NULL COLLATE pg_catalog."C",
    description text NOT NULL,
    routing text NOT NULL,
    created_at bigint NOT NULL,
    modified_at bigint NOT NULL
);


--
-- Name: executions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.executions (
    id bigint NOT NULL,
    tenant text NOT NULL COLLATE pg_catalog."C",
    flow_id bigint NOT NULL,
    flow_name text NOT NULL COLLATE pg_catalog."C",
    flow_revision bigint NOT NULL,
    name text NOT NULL COLLATE pg_catalog."C",
    status text NOT NULL,
    started_at bigint,
    stopped_at bigint,
    state text NOT NULL,
    version bigint NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: executions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.executions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: executions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.executions_id_seq OWNED BY public.executions.id;


--
-- Name: flow_revisions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.flow_revisions (
    flow_id bigint NOT NULL,
    revision bigint NOT NULL,
    definition text NOT NULL
);


--
-- Name: flows; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.flows (
    id bigint NOT NULL,
    tenant text NOT NULL COLLATE pg_catalog."C",
    name text NOT NULL COLLATE pg_catalog."C",
    description text NOT NULL,
    dialect text NOT NULL,
    role_arn text,
    mode text NOT NULL,
    attributes text NOT NULL,
    revision bigint NOT NULL,
    open boolean NOT NULL,
    created_at bigint NOT NULL,
    modified_at bigint NOT NULL,
    deleted boolean DEFAULT false NOT NULL,
    next_version bigint DEFAULT 1 NOT NULL
);


--
-- Name: flows_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.flows_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: flows_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.flows_id_seq OWNED BY public.flows.id;


--
-- Name: history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.history (
    execution_id bigint NOT NULL,
    event_id bigint NOT NULL,
    schedule_id bigint,
    step text,
    "time" bigint NOT NULL,
    type text NOT NULL,
    detail text NOT NULL
);


--
-- Name: jobs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.jobs (
    id text NOT NULL,
    tenant text NOT NULL COLLATE pg_catalog."C",
    kind text NOT NULL,
    flow_id bigint NOT NULL,
    flow_name text NOT NULL COLLATE pg_catalog."C",
    filter text NOT NULL,
    status text NOT NULL,
    total bigint NOT NULL,
    done bigint NOT NULL,
    failure text,
    created_at bigint NOT NULL,
    finished_at bigint,
    owner text NOT NULL
);


--
-- Name: nodes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.nodes (
    id text NOT NULL,
    renewed_at timestamp with time zone NOT NULL
);


--
-- Name: schedules; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedules (
    id bigint NOT NULL,
    tenant text NOT NULL COLLATE pg_catalog."C",
    flow_id bigint NOT NULL,
    flow_name text NOT NULL COLLATE pg_catalog."C",
    name text NOT NULL COLLATE pg_catalog."C",
    cron text NOT NULL,
    payload text NOT NULL,
    description text NOT NULL,
    enabled boolean NOT NULL,
    next_fire_at bigint,
    created_at bigint NOT NULL,
    modified_at bigint NOT NULL
);


--
-- Name: schedules_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.schedules_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: schedules_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.schedules_id_seq OWNED BY public.schedules.id;


--
-- Name: schema_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_version (
    version bigint NOT NULL
);


--
-- Name: tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tasks (
    execution_id bigint NOT NULL,
    op bigint NOT NULL,
    call text NOT NULL,
    owner text NOT NULL
);


--
-- Name: timers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.timers (
    execution_id bigint NOT NULL,
    op bigint NOT NULL,
    fire_at bigint NOT NULL,
    owner text NOT NULL
);


--
-- Name: versions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.versions (
    flow_id bigint NOT NULL,
    version bigint NOT NULL,
    revision bigint NOT NULL,
    description text NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: executions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.executions ALTER COLUMN id SET DEFAULT nextval('public.executions_id_seq'::regclass);


--
-- Name: flows id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows ALTER COLUMN id SET DEFAULT nextval('public.flows_id_seq'::regclass);


--
-- Name: schedules id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules ALTER COLUMN id SET DEFAULT nextval('public.schedules_id_seq'::regclass);


--
-- Data for Name: aliases; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.aliases (flow_id, name, description, routing, created_at, modified_at) FROM stdin;
\.


--
-- Data for Name: executions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.executions (id, tenant, flow_id, flow_name, flow_revision, name, status, started_at, stopped_at, state, version, created_at) FROM stdin;
1	default	2	upgrade_call	1	in_flight	Running	1796119233997	\N	{"info":{"name":"in_flight","flow_name":"upgrade_call","role_arn":null,"token_prefix":"2.in_flight.2cc41abbdc3c2725290404ade10ceed0.","seed":12134941049474571808,"limits":{"max_history_events":5000,"max_payload_bytes":65536,"execution_timeout_ms":3153600000000}},"status":"Running","input":{"order":7},"output":null,"error":null,"started_at":1796119233997,"stopped_at":null,"next_event":5,"next_op":3,"next_thread":1,"threads":{"0":{"parent":null,"scope":0,"scope_input":{"order":7},"data":null,"at":{"state":0,"input":{"order":7},"entered":2,"retries":[],"retry_count":0,"block":{"Task":2}}}},"ops":{"1":{"Timer":{"fire_at":4949719233997,"purpose":"ExecutionDeadline"}},"2":{"Task":{"thread":0,"scheduled":3,"call":{"op":2,"state":"Call","target":{"Function":{"service":"upgrade","qualifier":null,"function":"slow"}},"mode":"RequestComplete","body":{"order":7},"token":null,"attempt":0,"timeout_secs":null},"submitted":false,"timeout":null}}},"retry_point":null}	1	1796119233997
2	default	3	upgrade_dag	1	i1796119234036053	Running	1796119234054	\N	{"info":{"name":"i1796119234036053","flow_name":"upgrade_dag","role_arn":null,"token_prefix":"3.i1796119234036053.4b3071b3a83f73d53e25b59a135a1622.","seed":3124340377215171084,"limits":{"max_history_events":5000,"max_payload_bytes":65536,"execution_timeout_ms":3153600000000}},"status":"Running","input":{"jobParams":[]},"output":null,"error":null,"started_at":1796119234054,"stopped_at":null,"next_event":14,"next_op":4,"next_thread":3,"threads":{"0":{"parent":null,"scope":0,"scope_input":{"jobParams":[]},"data":null,"at":{"state":0,"input":{"jobParams":[]},"entered":2,"retries":[],"retry_count":0,"block":{"Dag":{"nodes":["Succeeded","Running","Waiting"],"running":{"1":2},"results":[{"rows":1},null,null],"draining":null}}}},"2":{"parent":{"thread":0,"index":1},"scope":2,"scope_input":{"jobParams":[]},"data":null,"at":{"state":2,"input":{"jobParams":[]},"entered":11,"retries":[],"retry_count":0,"block":{"Task":3}}}},"ops":{"1":{"Timer":{"fire_at":4949719234054,"purpose":"ExecutionDeadline"}},"3":{"Task":{"thread":2,"scheduled":12,"call":{"op":3,"state":"transform","target":{"Action":"DLF:HiveSQL"},"mode":"RequestComplete","body":{"type":"HiveSQL","properties":{"sql":"insert into transform select 1"}},"token":null,"attempt":0,"timeout_secs":null},"submitted":false,"timeout":null}}},"retry_point":null}	2	1796119234054
3	default	1	upgrade_wait	1	waiting	Running	1796119234083	\N	{"info":{"name":"waiting","flow_name":"upgrade_wait","role_arn":null,"token_prefix":"1.waiting.a387298f6999b72fa19efce3f4af90f6.","seed":71416066032121349,"limits":{"max_history_events":5000,"max_payload_bytes":65536,"execution_timeout_ms":3153600000000}},"status":"Running","input":{"items":["a","b"]},"output":null,"error":null,"started_at":1796119234083,"stopped_at":null,"next_event":12,"next_op":5,"next_thread":3,"threads":{"0":{"parent":null,"scope":0,"scope_input":{"items":["a","b"]},"data":null,"at":{"state":1,"input":{"items":["a","b"]},"entered":7,"retries":[],"retry_count":0,"block":{"Fanout":{"pending":[null,null],"next_index":2,"results":[null,null],"running":{"0":1,"1":2},"max_concurrency":0}}}},"1":{"parent":{"thread":0,"index":0},"scope":1,"scope_input":"a","data":null,"at":{"state":3,"input":"a","entered":9,"retries":[],"retry_count":0,"block":{"Wait":3}}},"2":{"parent":{"thread":0,"index":1},"scope":1,"scope_input":"b","data":null,"at":{"state":3,"input":"b","entered":11,"retries":[],"retry_count":0,"block":{"Wait":4}}}},"ops":{"1":{"Timer":{"fire_at":4949719234083,"purpose":"ExecutionDeadline"}},"3":{"Timer":{"fire_at":1796119294109,"purpose":{"Wait":1}}},"4":{"Timer":{"fire_at":1796119294109,"purpose":{"Wait":2}}}},"retry_point":null}	2	1796119234083
\.


--
-- Data for Name: flow_revisions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.flow_revisions (flow_id, revision, definition) FROM stdin;
1	1	Type: StateMachine\nName: upgrade_wait\nSpecVersion: v1\nStartAt: Before\nStates:\n  - Type: Task\n    Name: Before\n    Action: FC:InvokeFunction\n    Parameters:\n      resourceArn: acs:fc:::services/upgrade/functions/before\n      body:\n        items.$: $Input.items\n    Next: Each\n  - Type: Map\n    Name: Each\n    ItemsPath: $Input.items\n    Processor:\n      StartAt: Pause\n      States:\n        - Type: Wait\n          Name: Pause\n          Seconds: 60\n          End: true\n    Next: After\n  - Type: Task\n    Name: After\n    Action: FC:InvokeFunction\n    Parameters:\n      resourceArn: acs:fc:::services/upgrade/functions/after\n      body:\n        slept.$: $Input\n    End: true\n
2	1	Type: StateMachine\nName: upgrade_call\nSpecVersion: v1\nStartAt: Call\nStates:\n  - Type: Task\n    Name: Call\n    Action: FC:InvokeFunction\n    Parameters:\n      resourceArn: acs:fc:::services/upgrade/functions/slow\n      body:\n        order.$: $Input.order\n    End: true\n
3	1	{"name":"upgrade_dag","nodes":[{"name":"extract","type":"HiveSQL","location":{"x":"0","y":"0"},"preNodeName":[],"properties":[{"name":"sql","value":"insert into extract select 1"}]},{"name":"transform","type":"HiveSQL","location":{"x":"0","y":"0"},"preNodeName":["extract"],"properties":[{"name":"sql","value":"insert into transform select 1"}]},{"name":"load","type":"HiveSQL","location":{"x":"0","y":"0"},"preNodeName":["transform"],"properties":[{"name":"sql","value":"insert into load select 1"}]}],"schedule":{"type":"EXECUTE_ONCE"},"processType":"BATCH"}
\.


--
-- Data for Name: flows; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.flows (id, tenant, name, description, dialect, role_arn, mode, attributes, revision, open, created_at, modified_at, deleted, next_version) FROM stdin;
1	default	upgrade_wait	upgrade	cloudflow	\N	Standard	{}	1	t	1796119233901	1796119233901	f	1
2	default	upgrade_call	upgrade	cloudflow	\N	Standard	{}	1	t	1796119233948	1796119233948	f	1
3	default	upgrade_dag		dataarts	\N	Standard	{"workspace":"ws-upgrade"}	1	t	1796119233970	1796119233970	f	1
\.


--
-- Data for Name: history; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.history (execution_id, event_id, schedule_id, step, "time", type, detail) FROM stdin;
1	1	\N	\N	1796119233997	ExecutionStarted	{"input":{"order":7}}
1	2	\N	Call	1796119233997	StepEntered	{"input":{"order":7}}
1	3	\N	Call	1796119233997	TaskScheduled	{"resource":"acs:fc:::services/upgrade/functions/slow","input":{"order":7}}
1	4	3	Call	1796119233997	TaskStarted	{}
2	1	\N	\N	1796119234054	ExecutionStarted	{"input":{"jobParams":[]}}
2	2	\N	#job	1796119234054	StepEntered	{"input":{"jobParams":[]}}
2	3	\N	#job	1796119234054	BranchEntered	{"index":0,"node":"extract"}
2	4	\N	extract	1796119234054	StepEntered	{"input":{"jobParams":[]}}
2	5	\N	extract	1796119234054	TaskScheduled	{"resource":"DLF:HiveSQL","input":{"type":"HiveSQL","properties":{"sql":"insert into extract select 1"}}}
2	6	5	extract	1796119234054	TaskStarted	{}
2	7	5	extract	1796119234076	TaskSucceeded	{"output":{"rows":1}}
2	8	4	extract	1796119234076	StepExited	{"output":{"rows":1}}
2	9	\N	#job	1796119234076	BranchExited	{"index":0,"node":"extract"}
2	10	\N	#job	1796119234076	BranchEntered	{"index":1,"node":"transform"}
2	11	\N	transform	1796119234076	StepEntered	{"input":{"jobParams":[]}}
2	12	\N	transform	1796119234076	TaskScheduled	{"resource":"DLF:HiveSQL","input":{"type":"HiveSQL","properties":{"sql":"insert into transform select 1"}}}
2	13	12	transform	1796119234076	TaskStarted	{}
3	1	\N	\N	1796119234083	ExecutionStarted	{"input":{"items":["a","b"]}}
3	2	\N	Before	1796119234083	StepEntered	{"input":{"items":["a","b"]}}
3	3	\N	Before	1796119234083	TaskScheduled	{"resource":"acs:fc:::services/upgrade/functions/before","input":{"items":["a","b"]}}
3	4	3	Before	1796119234083	TaskStarted	{}
3	5	3	Before	1796119234109	TaskSucceeded	{"output":{"items":["a","b"]}}
3	6	2	Before	1796119234109	StepExited	{"output":{"items":["a","b"]}}
3	7	\N	Each	1796119234109	StepEntered	{"input":{"items":["a","b"]}}
3	8	\N	Each	1796119234109	IterationEntered	{"index":0}
3	9	\N	Pause	1796119234109	StepEntered	{"input":"a"}
3	10	\N	Each	1796119234109	IterationEntered	{"index":1}
3	11	\N	Pause	1796119234109	StepEntered	{"input":"b"}
\.


--
-- Data for Name: jobs; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.jobs (id, tenant, kind, flow_id, flow_name, filter, status, total, done, failure, created_at, finished_at, owner) FROM stdin;
\.


--
-- Data for Name: nodes; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.nodes (id, renewed_at) FROM stdin;
5a494b34a77f4d198b79f38072004306	-infinity
\.


--
-- Data for Name: schedules; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schedules (id, tenant, flow_id, flow_name, name, cron, payload, description, enabled, next_fire_at, created_at, modified_at) FROM stdin;
\.


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schema_version (version) FROM stdin;
2
\.


--
-- Data for Name: tasks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.tasks (execution_id, op, call, owner) FROM stdin;
1	2	{"op":2,"state":"Call","target":{"Function":{"service":"upgrade","qualifier":null,"function":"slow"}},"mode":"RequestComplete","body":{"order":7},"token":null,"attempt":0,"timeout_secs":null}	5a494b34a77f4d198b79f38072004306
2	3	{"op":3,"state":"transform","target":{"Action":"DLF:HiveSQL"},"mode":"RequestComplete","body":{"type":"HiveSQL","properties":{"sql":"insert into transform select 1"}},"token":null,"attempt":0,"timeout_secs":null}	5a494b34a77f4d198b79f38072004306
\.


--
-- Data for Name: timers; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.timers (execution_id, op, fire_at, owner) FROM stdin;
1	1	4949719233997	5a494b34a77f4d198b79f38072004306
2	1	4949719234054	5a494b34a77f4d198b79f38072004306
3	1	4949719234083	5a494b34a77f4d198b79f38072004306
3	3	1796119294109	5a494b34a77f4d198b79f38072004306
3	4	1796119294109	5a494b34a77f4d198b79f38072004306
\.


--
-- Data for Name: versions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.versions (flow_id, version, revision, description, created_at) FROM stdin;
\.


--
-- Name: executions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.executions_id_seq', 3, true);


--
-- Name: flows_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.flows_id_seq', 3, true);


--
-- Name: schedules_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.schedules_id_seq', 1, false);


--
-- Name: aliases aliases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.aliases
    ADD CONSTRAINT aliases_pkey PRIMARY KEY (flow_id, name);


--
-- Name: executions executions_flow_id_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.executions
    ADD CONSTRAINT executions_flow_id_name_key UNIQUE (flow_id, name);


--
-- Name: executions executions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.executions
    ADD CONSTRAINT executions_pkey PRIMARY KEY (id);


--
-- Name: flow_revisions flow_revisions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flow_revisions
    ADD CONSTRAINT flow_revisions_pkey PRIMARY KEY (flow_id, revision);


--
-- Name: flows flows_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.flows
    ADD CONSTRAINT flows_pkey PRIMARY KEY (id);


--
-- Name: history history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.history
    ADD CONSTRAINT history_pkey PRIMARY KEY (execution_id, event_id);


--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);


--
-- Name: nodes nodes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.nodes
    ADD CONSTRAINT nodes_pkey PRIMARY KEY (id);


--
-- Name: schedules schedules_flow_id_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_flow_id_name_key UNIQUE (flow_id, name);


--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (id);


--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (execution_id, op);


--
-- Name: timers timers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.timers
    ADD CONSTRAINT timers_pkey PRIMARY KEY (execution_id, op);


--
-- Name: versions versions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.versions
    ADD CONSTRAINT versions_pkey PRIMARY KEY (flow_id, version);


--
-- Name: executions_by_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX executions_by_status ON public.executions USING btree (flow_id, status, name);


--
-- Name: flows_by_name; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX flows_by_name ON public.flows USING btree (tenant, name) WHERE (NOT deleted);


--
-- Name: jobs_by_tenant; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX jobs_by_tenant ON public.jobs USING btree (tenant, created_at);


--
-- Name: schedules_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX schedules_due ON public.schedules USING btree (next_fire_at) WHERE enabled;


--
-- Name: tasks_by_owner; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_by_owner ON public.tasks USING btree (owner);


--
-- Name: timers_by_owner; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX timers_by_owner ON public.timers USING btree (owner, fire_at);


--
-- Name: unfinished_jobs_by_owner; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX unfinished_jobs_by_owner ON public.jobs USING btree (owner) WHERE (status = ANY (ARRAY['Pending'::text, 'Running'::text]));


--
-- PostgreSQL database dump complete
--

\unrestrict WKMEpWdLKfkqzMHHBC7F1WSIBTzMDCPodwiax2VBOXeqbzIhwpnsELY6lqLxUuo

