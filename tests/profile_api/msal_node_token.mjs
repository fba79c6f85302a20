// What a Node.js storefront backend runs to get a profile API token with @azure/msal-node
// (README, "Profile API"): the same options, read from the same environment variables.
// Prints {"token_type", "expires_in", "access_token"} as JSON, or {"error": ...} and exits 1.
import * as msal from "@azure/msal-node";

const authority = `${process.env.ENTRA_AUTHORITY}/${process.env.ENTRA_TENANT_ID}`;
const app = new msal.ConfidentialClientApplication({
  auth: {
    clientId: process.env.PROFILE_CLIENT_ID,
    clientSecret: process.env.PROFILE_CLIENT_SECRET,
    authority,
    // a host outside Microsoft's clouds is trusted only when listed; listing it also skips
    // instance discovery against login.microsoftonline.com
    knownAuthorities: [new URL(process.env.ENTRA_AUTHORITY).host],
  },
});

try {
  const result = await app.acquireTokenByClientCredential({
    scopes: [process.env.PROFILE_API_SCOPE],
  });
  const expiresIn = Math.round((result.expiresOn.getTime() - Date.now()) / 1000);
  console.log(JSON.stringify({
    token_type: result.tokenType, expires_in: expiresIn, access_token: result.accessToken,
  }));
} catch (error) {
  console.log(JSON.stringify({ error: error.errorCode ?? error.name, message: error.message }));
  process.exit(1);
}
