import { EditorPage } from "./pages/Editor";
import { PipelineDetailsPage } from "./pages/PipelineDetails";
import { PipelineListPage } from "./pages/PipelineList";
import { useRoute } from "./router";

export function App() {
  const route = useRoute();
  const details = /^\/pipelines\/([^/]+)$/.exec(route);
  let page;
  if (route === "/new") page = <EditorPage />;
  else if (details) page = <PipelineDetailsPage key={details[1]} id={decodeURIComponent(details[1])} />;
  else page = <PipelineListPage />;
  return (
    <>
      <header className="top">
        <a href="#/pipelines" className="brand">
          Sluice
        </a>
        <a href="#/pipelines" className={route.startsWith("/pipelines") ? "active" : ""}>
          Pipelines
        </a>
        <a href="#/new" className={route === "/new" ? "active" : ""} data-testid="nav-new">
          New pipeline
        </a>
      </header>
      {page}
    </>
  );
}
