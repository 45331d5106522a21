/** The pages' entry: picks the page for the path under `/ui/` (the Worker answers every `/ui/*` with this app). */
import { render } from "preact";
import { Layout, Notice } from "./layout.tsx";
import { AdsPage } from "./pages/ads.tsx";
import { AnalyticsPage } from "./pages/analytics.tsx";
import { CampaignPage } from "./pages/campaign.tsx";
import { ConnectionsPage } from "./pages/connections.tsx";
import { EmployerPage } from "./pages/employer.tsx";
import { HomePage } from "./pages/home.tsx";
import { StatusPage } from "./pages/status.tsx";
import "./style.css";

function page(path: string) {
  const [, section, id] = path.replace(/^\/ui\/?/, "/").split("/").map(decodeURIComponent);
  if (!section) return <HomePage />;
  if (section === "campaigns" && id) return <CampaignPage id={id} />;
  if (section === "ads" && id) return <AdsPage id={id} />;
  if (section === "analytics") return <AnalyticsPage />;
  if (section === "employers" && id) return <EmployerPage id={id} />;
  if (section === "connections") return <ConnectionsPage />;
  if (section === "status") return <StatusPage />;
  return (
    <Layout title="Page not found">
      <Notice kind="error">There is no page at {path}. <a href="/ui/">Back to the home page</a>.</Notice>
    </Layout>
  );
}

const root = document.getElementById("app")!;
// The "Loading…" placeholder is static HTML, not a Preact tree: clear it rather than diff against it.
root.textContent = "";
render(page(location.pathname), root);
