import { AppShell, Button, Group, NavLink, Text, Title } from "@mantine/core";
import { Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { useAuth } from "./auth";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Loading } from "./components/common";
import { AssetsPage } from "./pages/Assets";
import { ComparePage } from "./pages/Compare";
import { CreatePage } from "./pages/Create";
import { EvaluationPage } from "./pages/Evaluation";
import { EvaluationsPage } from "./pages/Evaluations";
import { JobPage, JobsPage } from "./pages/Jobs";
import { LoginPage } from "./pages/Login";
import { PoolsPage } from "./pages/Pools";
import { VersionPage } from "./pages/Version";

const NAV = [
  ["/evaluations", "Evaluations"],
  ["/create", "Create evaluation"],
  ["/jobs", "Jobs"],
  ["/assets", "Assets"],
  ["/pools", "Pools"],
] as const;

export function App() {
  const { me, local, checking, logout } = useAuth();
  const location = useLocation();
  if (checking) return <Loading />;
  if (!me) return <LoginPage />;
  return (
    <AppShell header={{ height: 52 }} navbar={{ width: 200, breakpoint: "sm" }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Title order={3}>Assay</Title>
          <Group>
            <Text size="sm" data-testid="whoami">
              {me.name}
              {local ? " (local)" : ""}
            </Text>
            {!local && (
              <Button size="xs" variant="subtle" onClick={logout}>
                Log out
              </Button>
            )}
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        {NAV.map(([to, label]) => (
          <NavLink key={to} component={Link} to={to} label={label} active={location.pathname.startsWith(to)} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <ErrorBoundary resetKey={location.pathname}>
        <Routes>
          <Route path="/" element={<Navigate to="/evaluations" replace />} />
          <Route path="/login" element={<Navigate to="/evaluations" replace />} />
          <Route path="/evaluations" element={<EvaluationsPage />} />
          <Route path="/evaluations/:id" element={<EvaluationPage />} />
          <Route path="/compare" element={<ComparePage />} />
          <Route path="/create" element={<CreatePage />} />
          <Route path="/jobs" element={<JobsPage />} />
          <Route path="/jobs/:job" element={<JobPage />} />
          <Route path="/jobs/:job/versions/:version" element={<VersionPage />} />
          <Route path="/assets" element={<AssetsPage />} />
          <Route path="/assets/:id" element={<AssetsPage />} />
          <Route path="/pools" element={<PoolsPage />} />
          <Route path="*" element={<Text>No such page: {location.pathname}</Text>} />
        </Routes>
        </ErrorBoundary>
      </AppShell.Main>
    </AppShell>
  );
}
