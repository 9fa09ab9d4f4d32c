// Run by the mongodb-rs-init Job as `mongosh --nodb rs-init.js`: waits until mongod answers,
// initiates the replica set unless it already is, then waits for a primary. Safe to run any
// number of times. mongosh globals used: Mongo, print, sleep, quit; process.env for settings.
const replicaSet = process.env.REPLICA_SET || 'rs0';
const memberHost = process.env.MEMBER_HOST || 'mongodb-0.mongodb:27017';
const deadline = Date.now() + Number(process.env.WAIT_SECONDS || '300') * 1000;

// Server error codes (src/mongo/base/error_codes.yml): matched by code, never by message.
const ALREADY_INITIALIZED = 23;
const NOT_YET_INITIALIZED = 94;

// mongosh throws on { ok: 0 }; turn server errors back into results so the code can decide.
function command(admin, cmd) {
  try {
    return admin.runCommand(cmd);
  } catch (error) {
    if (typeof error.code === 'number') {
      return { ok: 0, code: error.code, codeName: error.codeName, errmsg: error.message };
    }
    throw error;
  }
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

try {
  const uri = `mongodb://${memberHost}/?directConnection=true&serverSelectionTimeoutMS=3000`;
  const admin = waitFor(`mongod at ${memberHost}`, () => {
    const db = new Mongo(uri).getDB('admin');
    db.runCommand({ ping: 1 });
    return db;
  });

  const status = command(admin, { replSetGetStatus: 1 });
  if (status.ok === 1) {
    print(`replica set ${status.set} is already initiated`);
  } else if (status.code === NOT_YET_INITIALIZED) {
    const config = { _id: replicaSet, members: [{ _id: 0, host: memberHost }] };
    const result = command(admin, { replSetInitiate: config });
    if (result.ok === 1) print(`initiated replica set ${replicaSet} with member ${memberHost}`);
    else if (result.code === ALREADY_INITIALIZED) print(`replica set ${replicaSet} was initiated meanwhile`);
    else throw new Error(`replSetInitiate failed: ${result.codeName} (${result.code}): ${result.errmsg}`);
  } else {
    throw new Error(`replSetGetStatus failed: ${status.codeName} (${status.code}): ${status.errmsg}`);
  }

  const hello = waitFor(`a primary in ${replicaSet}`, () => {
    const reply = admin.runCommand({ hello: 1 });
    return reply.isWritablePrimary ? reply : null;
  });
  print(`replica set ${hello.setName} is ready; primary ${hello.primary}`);
} catch (error) {
  print(`rs-init failed: ${error.message}`);
  quit(1);
}
