/**
 * A payments API (resource server): every route needs a Tessera access token for this API's
 * audience, and creating a payment needs scope `payments`.
 */
import express from 'express';
import type { Server } from 'node:http';
import { bearerAuth, expressBearer, requireScopes } from '../../packages/resource-server/src/express.ts';

export const PAYMENTS_AUDIENCE = 'https://payments.example.com';

export function paymentsApi(issuer: string): express.Express {
  const app = express();
  app.use(express.json());
  app.use(expressBearer({ issuer, audience: PAYMENTS_AUDIENCE, logger: { warn: (msg) => console.error(`[payments-api] refused: ${msg}`) } }));
  app.get('/v1/balance', (req, res) => {
    res.json({ client: bearerAuth(req).clientId, balance: '1234.56' });
  });
  app.post('/v1/payments', requireScopes(['payments']), (req, res) => {
    const auth = bearerAuth(req);
    res.status(201).json({ id: `pay_${Date.now()}`, created_by: auth.clientId, amount: req.body?.amount });
  });
  return app;
}

export function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server }));
  });
}
