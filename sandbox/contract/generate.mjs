// Generates the JSON Schemas the sandbox's contract check reads (schemas/*.json) from the
// pinned discord-api-types in package-lock.json. Run `npm ci && npm run generate` here after
// changing the version or the lists below; tests only read the committed JSON, never node.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createGenerator } from "ts-json-schema-generator";

const here = dirname(fileURLToPath(import.meta.url));
const version = JSON.parse(
  readFileSync(join(here, "node_modules/discord-api-types/package.json"), "utf8"),
).version;

// Gateway dispatches (t -> the d of `Gateway<Pascal>Dispatch`) the sandbox sends or may send.
const DISPATCHES = [
  "READY", "GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE",
  "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE",
  "GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE", "GUILD_MEMBERS_CHUNK",
  "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE",
  "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE", "THREAD_LIST_SYNC",
  "THREAD_MEMBER_UPDATE", "THREAD_MEMBERS_UPDATE",
  "MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK",
  "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE", "MESSAGE_REACTION_REMOVE_ALL",
  "MESSAGE_REACTION_REMOVE_EMOJI",
  "INTERACTION_CREATE", "TYPING_START", "PRESENCE_UPDATE", "USER_UPDATE", "RATE_LIMITED",
];

// What the bot sends over the gateway (op -> data type).
const SENDS = {
  IDENTIFY: "GatewayIdentifyData",
  RESUME: "GatewayResumeData",
  REQUEST_GUILD_MEMBERS: "GatewayRequestGuildMembersData",
  PRESENCE_UPDATE: "GatewayPresenceUpdateData",
};

// REST routes, named by method and the sandbox's path template: the request body the bot
// sends and the result Discord answers with (null: none, as for a 204).
const REST = {
  "GET /gateway": [null, "RESTGetAPIGatewayResult"],
  "GET /gateway/bot": [null, "RESTGetAPIGatewayBotResult"],
  "GET /users/@me": [null, "RESTGetAPICurrentUserResult"],
  "GET /users/{user_id}": [null, "RESTGetAPIUserResult"],
  "GET /applications/@me": [null, "RESTGetCurrentApplicationResult"],
  "GET /oauth2/applications/@me": [null, "RESTGetAPIOAuth2CurrentApplicationResult"],
  "GET /users/@me/guilds": [null, "RESTGetAPICurrentUserGuildsResult"],
  "POST /users/@me/channels": [
    "RESTPostAPICurrentUserCreateDMChannelJSONBody", "RESTPostAPICurrentUserCreateDMChannelResult",
  ],
  "PUT /applications/{application_id}/commands": [
    "RESTPutAPIApplicationCommandsJSONBody", "RESTPutAPIApplicationCommandsResult",
  ],
  "PUT /applications/{application_id}/guilds/{guild_id}/commands": [
    "RESTPutAPIApplicationGuildCommandsJSONBody", "RESTPutAPIApplicationGuildCommandsResult",
  ],
  "POST /applications/{application_id}/commands": [
    "RESTPostAPIApplicationCommandsJSONBody", "RESTPostAPIApplicationCommandsResult",
  ],
  "POST /applications/{application_id}/guilds/{guild_id}/commands": [
    "RESTPostAPIApplicationGuildCommandsJSONBody", "RESTPostAPIApplicationGuildCommandsResult",
  ],
  "GET /applications/{application_id}/commands": [null, "RESTGetAPIApplicationCommandsResult"],
  "GET /applications/{application_id}/guilds/{guild_id}/commands": [
    null, "RESTGetAPIApplicationGuildCommandsResult",
  ],
  "GET /applications/{application_id}/guilds/{guild_id}/commands/permissions": [
    null, "RESTGetAPIGuildApplicationCommandsPermissionsResult",
  ],
  "DELETE /applications/{application_id}/commands/{command_id}": [null, null],
  "DELETE /applications/{application_id}/guilds/{guild_id}/commands/{command_id}": [null, null],
  "GET /channels/{channel_id}": [null, "RESTGetAPIChannelResult"],
  "GET /channels/{channel_id}/messages": [null, "RESTGetAPIChannelMessagesResult"],
  "POST /channels/{channel_id}/messages": [
    "RESTPostAPIChannelMessageJSONBody", "RESTPostAPIChannelMessageResult",
  ],
  "GET /channels/{channel_id}/messages/{message_id}": [null, "RESTGetAPIChannelMessageResult"],
  "PATCH /channels/{channel_id}/messages/{message_id}": [
    "RESTPatchAPIChannelMessageJSONBody", "RESTPatchAPIChannelMessageResult",
  ],
  "DELETE /channels/{channel_id}/messages/{message_id}": [null, null],
  "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": [null, null],
  "DELETE /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me": [null, null],
  "GET /channels/{channel_id}/messages/{message_id}/reactions/{emoji}": [
    null, "RESTGetAPIChannelMessageReactionUsersResult",
  ],
  "POST /channels/{channel_id}/typing": [null, null],
  "GET /channels/{channel_id}/threads/archived/public": [
    null, "RESTGetAPIChannelThreadsArchivedPublicResult",
  ],
  "GET /channels/{channel_id}/threads/archived/private": [
    null, "RESTGetAPIChannelThreadsArchivedPrivateResult",
  ],
  "GET /channels/{channel_id}/users/@me/threads/archived/private": [
    null, "RESTGetAPIChannelUsersThreadsArchivedResult",
  ],
  "GET /guilds/{guild_id}": [null, "RESTGetAPIGuildResult"],
  "GET /guilds/{guild_id}/channels": [null, "RESTGetAPIGuildChannelsResult"],
  "GET /guilds/{guild_id}/roles": [null, "RESTGetAPIGuildRolesResult"],
  "GET /guilds/{guild_id}/threads/active": [null, "RESTGetAPIGuildThreadsResult"],
  "GET /guilds/{guild_id}/members": [null, "RESTGetAPIGuildMembersResult"],
  "GET /guilds/{guild_id}/members/{user_id}": [null, "RESTGetAPIGuildMemberResult"],
  "POST /interactions/{interaction_id}/{token}/callback": [
    "RESTPostAPIInteractionCallbackJSONBody", "RESTPostAPIInteractionCallbackWithResponseResult",
  ],
  "POST /webhooks/{application_id}/{token}": [
    "RESTPostAPIInteractionFollowupJSONBody", "RESTPostAPIInteractionFollowupResult",
  ],
  "GET /webhooks/{application_id}/{token}/messages/{message_id}": [
    null, "RESTGetAPIInteractionFollowupResult",
  ],
  "PATCH /webhooks/{application_id}/{token}/messages/{message_id}": [
    "RESTPatchAPIInteractionFollowupJSONBody", "RESTPatchAPIInteractionFollowupResult",
  ],
  "DELETE /webhooks/{application_id}/{token}/messages/{message_id}": [null, null],
};

// Error answers (4xx/5xx) and 429s.
const ERRORS = { error: "RESTError", rate_limit: "RESTRateLimit" };

// A copy of the package with one internal helper simplified: in JSON an optional property is
// absent or present, so `_AddUndefinedToPossiblyUndefinedPropertiesOfInterface<T>` (which only
// adds `| undefined` for exactOptionalPropertyTypes) is T. Its recursive mapped form over
// primitives makes the generator emit objects where strings belong (PATCH message content).
const build = join(here, ".build");
rmSync(build, { recursive: true, force: true });
cpSync(join(here, "node_modules/discord-api-types"), join(build, "discord-api-types"), {
  recursive: true,
});
const internals = join(build, "discord-api-types/utils/internals.d.ts");
const helper = /export type _AddUndefinedToPossiblyUndefinedPropertiesOfInterface<Base> = \{[^;]*;\s*\};/;
// Likewise NonNullable<T> is `T & {}`, which the generator renders as "an array that is also an
// object"; Exclude says the same thing in a form it understands.
const nonNullable = /export type _NonNullableFields<T> = \{[^;]*;\s*\};/;
const original = readFileSync(internals, "utf8");
if (!helper.test(original) || !nonNullable.test(original)) {
  throw new Error("discord-api-types internals changed; review the shims in generate.mjs");
}
writeFileSync(
  internals,
  original
    .replace(helper, "export type _AddUndefinedToPossiblyUndefinedPropertiesOfInterface<Base> = Base;")
    .replace(nonNullable, "export type _NonNullableFields<T> = { [P in keyof T]: Exclude<T[P], null | undefined> };"),
);

const pascal = (event) =>
  event.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase());

// One exported wrapper per schema we want, so the generator pulls in only what they reach.
// A bare alias would be resolved away; `{ d: T }` keeps a definition under our name, and the
// wrapper is unwrapped after generation.
const aliases = {};
const lines = ['import type * as D from "./.build/discord-api-types/v10";', ""];
// The Contract_ prefix keeps our names apart from discord-api-types' own.
const alias = (name, expression) => {
  aliases[name] = `Contract_${name}`;
  lines.push(`export type Contract_${name} = { d: ${expression} };`);
  return aliases[name];
};
// APIMessage reaches itself (message_snapshots picks from APIMessage); parsed from inside a
// gateway event first, the generator sees it half-built and fails, so it goes first.
alias("APIMessage", "D.APIMessage");
const index = { version, dispatch: {}, send: {}, rest: {}, errors: {} };
for (const event of DISPATCHES) {
  const name = `Dispatch_${event}`;
  index.dispatch[event] = alias(name, `D.Gateway${pascal(event)}Dispatch["d"]`);
}
for (const [op, type] of Object.entries(SENDS)) {
  index.send[op] = alias(`Send_${op}`, `D.${type}`);
}
const typeAliases = new Set();
for (const [route, [request, response]] of Object.entries(REST)) {
  const entry = {};
  for (const [key, type] of [["request", request], ["response", response]]) {
    if (type === null) continue;
    if (!typeAliases.has(type)) {
      alias(type, `D.${type}`);
      typeAliases.add(type);
    }
    entry[key] = aliases[type];
  }
  index.rest[route] = entry;
}
for (const [key, type] of Object.entries(ERRORS)) {
  index.errors[key] = alias(type, `D.${type}`);
}

const entry = join(here, "entry.ts");
writeFileSync(entry, lines.join("\n") + "\n");
writeFileSync(
  join(here, "tsconfig.json"),
  JSON.stringify({
    compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", skipLibCheck: true },
    files: ["entry.ts"],
  }),
);
let schema;
try {
  schema = createGenerator({
    path: entry,
    tsconfig: join(here, "tsconfig.json"),
    type: "*",
    expose: "export",
    jsDoc: "none",
    topRef: true,
    skipTypeCheck: true,
    additionalProperties: false,
    sortProps: true,
  }).createSchema("*");
} finally {
  rmSync(entry);
  rmSync(join(here, "tsconfig.json"));
  rmSync(build, { recursive: true, force: true });
}

const definitions = schema.definitions;
for (const name of Object.values(aliases)) {
  if (!definitions[name]?.properties?.d) throw new Error(`no schema generated for ${name}`);
  definitions[name] = definitions[name].properties.d;
}
// Bitfields (MessageFlags, UserFlags, ...) are typed as enums of single bits; on the wire
// any combination is valid, so they become non-negative integers.
for (const [name, def] of Object.entries(definitions)) {
  const values = def.enum ?? ("const" in def ? [def.const] : null);
  if (/Flags$/.test(name) && values?.every((v) => typeof v === "number")) {
    definitions[name] = { type: "integer", minimum: 0 };
  }
}

// `keyof` a map keyed by numeric opcodes comes out as the string "8"; Discord sends the number.
for (const def of Object.values(definitions)) {
  const opcode = def.properties?.opcode;
  if (opcode?.type === "string" && /^\d+$/.test(opcode.const ?? "")) {
    def.properties.opcode = { type: "number", const: Number(opcode.const) };
  }
}

// Instantiated generics get names like `APIBaseComponent<enum-126906747-...>`; a short hash
// of that name keeps them apart, readable and stable for one version.
const renamed = {};
for (const name of Object.keys(definitions)) {
  if (/^\w+$/.test(name)) continue;
  const hash = createHash("sha1").update(name).digest("hex").slice(0, 8);
  renamed[name] = `${name.split("<")[0]}__${hash}`;
}
const rename = (node) => {
  if (Array.isArray(node)) return node.map(rename);
  if (node === null || typeof node !== "object") return node;
  const copy = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string" && value.startsWith("#/definitions/")) {
      const target = decodeURIComponent(value.slice("#/definitions/".length));
      copy[key] = `#/definitions/${renamed[target] ?? target}`;
    } else {
      copy[key] = rename(value);
    }
  }
  return copy;
};
const stable = {};
for (const [name, def] of Object.entries(definitions)) stable[renamed[name] ?? name] = rename(def);

const out = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $comment: `Generated by generate.mjs from discord-api-types@${version}; do not edit.`,
  definitions: stable,
};
writeFileSync(join(here, "schemas/discord-api-types.json"), JSON.stringify(out, null, 1) + "\n");
writeFileSync(join(here, "schemas/index.json"), JSON.stringify(index, null, 2) + "\n");
const size = execFileSync("du", ["-sh", join(here, "schemas")]).toString().trim();
console.log(`discord-api-types@${version}: ${Object.keys(definitions).length} definitions, ${size}`);
