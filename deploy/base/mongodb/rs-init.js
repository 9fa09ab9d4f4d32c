// Run inside the mongodb pod by its `init` container as `mongosh --nodb rs-init.js`, against
// 127.0.0.1: with access control on (--keyFile), only a localhost connection may create the first
// user (MongoDB's localhost exception). Waits until mongod answers, initiates the replica set
// unless it already is, waits for a primary, then makes sure the users exist with the passwords
// of the Secrets (`mongodb-auth`: admin-password; `leasecron`: MONGODB_PASSWORD):
// - `admin` (root), for operators;
// - `leasecron` in database `leasecron` with role `leasecron`: readWrite there plus collMod (the
//   runs' TTL index is changed in place when RUN_RETENTION_DAYS changes) and nothing else.
// Safe to run any number of times: existing users get their password and roles reset to the
// Secret's. mongosh globals used: Mongo, print, sleep, quit; process.env for settings.
const replicaSet = process.env.REPLICA_SET || 'rs0';
const memberHost = process.env.MEMBER_HOST || 'mongodb-0.mongodb:27017';
const appDb = process.env.APP_DB || 'leasecron';
const deadline = Date.now() + Number(process.env.WAIT_SECONDS || '300') * 1000;
const adminPassword = process.env.ADMIN_PASSWORD;
const appPassword = process.env.LEASECRON_PASSWORD;

// Server error codes (src/mongo/base/error_codes.yml): matched by code, never by message.
const ALREADY_INITIALIZED = 23;
const NOT_YET_INITIALIZED = 94;
const UNAUTHORIZED = 13;

// mongosh throws on { ok: 0 }; turn server errors back into results so the code can decide.
function command(db, cmd) {
  try {
    return db.runCommand(cmd);
  } catch (error) {
    if (typeof error.code === 'number') {
      return { ok: 0, code: error.code, codeName: error.codeName, errmsg: error.message };
    }
    throw error;
  }
}

function must(result, what) {
  if (result.ok !== 1)
    throw new Error(`${what} failed: ${result.codeName} (${result.code}): ${result.errmsg}`);
  return result;
}

function waitFor(what, attempt) {
  for (;;) {
    try {
      const result = attempt();
      if (result) return result;
      print(`waiting for ${what}`);
    } catch (error) {
      print(`waiting for ${what}: ${error.message}`);
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    sleep(2000);
  }
}

/** Creates the user, or resets its password and roles when it exists. */
function upsertUser(db, name, password, roles) {
  const exists = must(command(db, { usersInfo: name }), `usersInfo ${name}`).users.length > 0;
  const result = exists
    ? command(db, { updateUser: name, pwd: password, roles })
    : command(db, { createUser: name, pwd: password, roles });
  must(result, `${exists ? 'updateUser' : 'createUser'} ${name}`);
  print(`${exists ? 'updated' : 'created'} user ${name} in ${db.getName()}`);
}

try {
  if (!adminPassword || !appPassword) throw new Error('ADMIN_PASSWORD and LEASECRON_PASSWORD must be set');
  const uri = 'mongodb://127.0.0.1:27017/?directConnection=true&serverSelectionTimeoutMS=3000';
  const admin = waitFor('mongod on 127.0.0.1:27017', () => {
    const db = new Mongo(uri).getDB('admin');
    db.runCommand({ ping: 1 });
    return db;
  });

  // Once the admin user exists a restarted container logs in; before that, MongoDB's localhost
  // exception lets this connection initiate the set and create that first user, nothing else.
  const login = () =>
    command(admin, { authenticate: 1, mechanism: 'SCRAM-SHA-256', user: 'admin', pwd: adminPassword });
  let loggedIn = login().ok === 1;
  print(loggedIn ? 'logged in as admin' : 'no admin user yet: using the localhost exception');

  const status = command(admin, { replSetGetStatus: 1 });
  if (status.ok === 1) {
    print(`replica set ${status.set} is already initiated`);
  } else if (status.code === NOT_YET_INITIALIZED || status.code === UNAUTHORIZED) {
    const config = { _id: replicaSet, members: [{ _id: 0, host: memberHost }] };
    const result = command(admin, { replSetInitiate: config });
    if (result.ok === 1) print(`initiated replica set ${replicaSet} with member ${memberHost}`);
    else if (result.code === ALREADY_INITIALIZED) print(`replica set ${replicaSet} is already initiated`);
    else must(result, 'replSetInitiate');
  } else {
    must(status, 'replSetGetStatus');
  }

  const hello = waitFor(`a primary in ${replicaSet}`, () => {
    const reply = admin.runCommand({ hello: 1 });
    return reply.isWritablePrimary ? reply : null;
  });
  print(`replica set ${hello.setName} is ready; primary ${hello.primary}`);

  if (!loggedIn) {
    must(
      command(admin, { createUser: 'admin', pwd: adminPassword, roles: [{ role: 'root', db: 'admin' }] }),
      'createUser admin',
    );
    print('created user admin in admin');
    loggedIn = must(login(), 'login as admin').ok === 1;
  } else {
    upsertUser(admin, 'admin', adminPassword, [{ role: 'root', db: 'admin' }]);
  }
  const app = admin.getSiblingDB(appDb);
  const privileges = [{ resource: { db: appDb, collection: '' }, actions: ['collMod'] }];
  const roles = [{ role: 'readWrite', db: appDb }];
  const roleExists = must(command(app, { rolesInfo: 'leasecron' }), 'rolesInfo').roles.length > 0;
  must(
    roleExists
      ? command(app, { updateRole: 'leasecron', privileges, roles })
      : command(app, { createRole: 'leasecron', privileges, roles }),
    'role leasecron',
  );
  upsertUser(app, 'leasecron', appPassword, [{ role: 'leasecron', db: appDb }]);
  print('users ready');
} catch (error) {
  print(`rs-init failed: ${error.message}`);
  quit(1);
}
