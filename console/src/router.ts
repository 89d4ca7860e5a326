// Hash routes (#/pipelines/3): the server only serves index.html at "/".
import { useEffect, useState } from "react";

export function navigate(path: string): void {
  window.location.hash = path;
}

export function useRoute(): string {
  const read = () => window.location.hash.replace(/^#/, "") || "/pipelines";
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
